package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/poller"
)

// Retry loads again the records job id refused: it reads the job's
// failures (about one call per 100), applies in.Map to them (a renamed,
// dropped or set field, so a failure caused by the data can be fixed on
// the way) and in.UpsertKey, and runs them as a new job of the same type,
// its results streamed as Run's. The report's RetryOf names job id. The
// records are kept in the state directory as <id>-<created>-retry.jsonl
// (job ids repeat across servers), the new job's input, so an interrupted
// retry resumes like any run. The new job's result rows name the file and
// line each record came from in job id's input, where this machine's
// saved state of job id makes that certain (see origin.go), and go beside
// job id's own results, in their format, unless Config sets ResultsDir or
// ResultsFormat. It holds job
// id's lock throughout: a second Retry of the same job at once fails with
// a *LockedError, having done nothing.
func (l *Loader) Retry(ctx context.Context, id int64, in Input, opts RunOptions) (Report, error) {
	o, end, err := l.start("retry", id, false)
	if err != nil {
		return Report{}, err
	}
	o.reader = &in
	// Job id's lock, held to the end: a second retry of it at once would
	// rewrite the retry file under the first and load its records into a
	// second job.
	stateDir, err := l.stateDir()
	if err == nil && stateDir != "" {
		o.lock, err = lockJob(stateDir, id, "retry")
	}
	if err != nil {
		end()
		return o.finish(err)
	}
	file, typ, n, err := o.failures(ctx)
	end()
	if fileExists(file + originsSuffix) {
		in.linesOf = file + originsSuffix
	}
	in.resultsDir, in.resultsFormat = o.firstResults()
	if err != nil {
		return o.finish(err)
	}
	if n == 0 {
		o.rep.State = string(api.StateDone)
		o.l.info("Job %d has no failed records: nothing to retry", id)
		return o.finish(nil)
	}
	in.Path, in.Reader, in.Format, in.Map = file, nil, "jsonl", nil
	opts.Type, opts.Continue = typ, true
	rep, err := l.Run(ctx, in, opts)
	o.lock.unlock()
	rep.Command, rep.RetryOf = "retry", id
	return rep, err
}

// failures writes job o.jobID's failed records, with in's mapping applied,
// to the retry file, and returns its path, the job's type and the count.
func (o *op) failures(ctx context.Context) (string, string, int, error) {
	stateDir, err := o.l.stateDir()
	if err != nil {
		return "", "", 0, err
	}
	if stateDir == "" {
		stateDir = os.TempDir()
	}
	job, err := o.getJob(ctx)
	if err != nil {
		return "", "", 0, err
	}
	if job.State != api.StateDone {
		return "", "", 0, fmt.Errorf("job %d is %s: which of its records failed is known once it is done", o.jobID, job.State)
	}
	path := filepath.Join(stateDir, fmt.Sprintf("%d-%s-retry.jsonl", o.jobID, stamp(createdAt(job))))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", "", 0, fmt.Errorf("retry file: %w", err)
	}
	w := bufio.NewWriter(f)
	p, err := poller.New(o.client, poller.Config{ErrorsOnly: true, Logger: o.l.cfg.Logger})
	if err != nil {
		f.Close()
		return "", "", 0, err
	}
	origins, err := o.newOrigins(ctx, path)
	if err != nil {
		f.Close()
		return "", "", 0, err
	}
	n := 0
	_, err = p.Run(ctx, o.jobID, func(r api.Result) error {
		if err := origins.add(r); err != nil {
			return err
		}
		rec, err := o.remap(r.Record)
		if err != nil {
			return fmt.Errorf("record %d: %w", r.ID, err)
		}
		n++
		w.Write(rec)
		return w.WriteByte('\n')
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if oerr := origins.finish(err); err == nil {
		err = oerr
	}
	if err != nil {
		return "", "", 0, fmt.Errorf("reading the failures of job %d: %w", o.jobID, err)
	}
	return path, job.Type, n, nil
}

// remap applies the op's mapping to a JSON record: Column=field renames a
// field (a dotted field nests), Column= drops it, a constant sets it.
func (o *op) remap(rec json.RawMessage) (json.RawMessage, error) {
	m := o.reader.Map
	if len(m) == 0 {
		return rec, nil
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(rec))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return nil, err
	}
	for _, e := range m {
		var v any = e.Value
		if e.Column != "" {
			var ok bool
			if v, ok = obj[e.Column]; !ok {
				continue
			}
			delete(obj, e.Column)
		}
		if e.Field != "" {
			setPath(obj, strings.Split(e.Field, "."), v)
		}
	}
	return json.Marshal(obj)
}

// setPath sets obj[path...] = v, making the objects on the way.
func setPath(obj map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
}

// firstResults is where job o.jobID's results went and in which format,
// as this machine saved them, for each that Config left to its default:
// a retry's results go beside them. "" where Config set it, or nothing
// was saved.
func (o *op) firstResults() (dir, format string) {
	if o.l.cfg.StateDir == "" || o.l.dirGiven && o.l.formatGiven {
		return "", ""
	}
	saved, _ := SavedLoads(o.l.cfg.StateDir, o.jobID)
	for _, s := range saved {
		r := s.Manifest.Run
		if r == nil || r.Command == "upload" || r.ResultsDir == "" || o.sameJob(s.Manifest, s.Dir) != nil {
			continue
		}
		if !o.l.dirGiven {
			dir = r.ResultsDir
		}
		if !o.l.formatGiven {
			format = r.ResultsFormat
		}
		return dir, format
	}
	return "", ""
}
