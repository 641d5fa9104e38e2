// Package load owns one load into a Salesloft bulk job from start to end:
// check the input, create the job, upload every record exactly once, mark
// the job ready, stream the per-record results to files, and keep the
// rejects. The bulkload command is a shell over it; ETL code calls the
// same methods and gets the same guarantees.
//
//	l, err := load.New(load.Config{Client: client, StateDir: stateDir, ResultsDir: "out"})
//	rep, err := l.Run(ctx, load.Input{Path: "people.csv"}, load.RunOptions{Type: "person/upsert", Continue: true})
//
// # The lifecycle
//
// A Loader runs one operation at a time:
//
//   - Run: check the whole input (a bad record fails before a job exists,
//     with its file, line and reason; Input.MaxRejects allows some), create
//     the job, upload, mark ready, read results until the job is done
//     (RunOptions.NoWait stops at ready).
//   - Resume: continue job J's interrupted Run from its manifest, or a job
//     filled by Upload calls only.
//   - Upload: add an input to an open job, leaving it open; the same Upload
//     again continues an interrupted one.
//   - Results: read a job's results (again) into files; an interrupted read
//     continues from its cursor.
//   - Create and Ready: the job's two state changes, each safe to repeat
//     after an answer that was lost.
//
// A job moves open → executing → done on the server. On this machine each
// operation keeps a manifest (package manifest) in Config.StateDir:
//
//	<state>/J.lock                    the job's lock
//	<state>/J/manifest.json           a Run of job J (or the Resume of its uploads)
//	<state>/J-upload-<fp>/manifest.json   one Upload of one input into J
//	<state>/J-results-<key>/manifest.json one Results read (folder, format, mode)
//
// A manifest records the input (size and fingerprint), how it is cut into
// batches, which batches the job holds and which were sent without an
// answer (package uploader), the results cursor with the results files'
// sizes at that cursor (package poller), and the settings a resume needs
// (manifest.Run). It is replaced atomically (write, fsync, rename) before
// a batch first goes out, after each is stored, and every two seconds
// while results stream.
//
// # What the lock protects
//
// Every operation that writes records into job J, or writes J's results
// files, holds J's lock for its whole length: an OS file lock (flock) on
// <state>/J.lock, which the kernel releases when the process ends, kill -9
// included, so no lock ever has to be removed by hand. A second operation on
// J in any process fails at once with a *LockedError naming the holder's
// PID, host, command and since when, having sent nothing. The lock is per
// state directory: two machines, or two state directories, do not see each
// other's (the server has no lock to take).
//
// # What resume guarantees
//
// Nothing lost, nothing duplicated, across processes and commands:
//
//   - Resume re-reads the input and proves it is the same (size,
//     fingerprint, then each batch's SHA-256 as it is re-read); a changed
//     or missing input is refused with an *InputChangedError that says what
//     changed (size, time, whether the stored batches still read the same).
//     A moved input is accepted at its new path (ResumeOptions.Input) when
//     its content is unchanged.
//   - Batches the job holds are skipped; uploads in doubt are reconciled
//     with the job before anything is resent (see package uploader).
//   - Results continue after the saved cursor, the files cut back to the
//     sizes saved with it, so no row is written twice or missed.
//   - Run refuses an input that has an unfinished run against the same API
//     (*UnfinishedError), unless RunOptions.Continue (continue it) or
//     NewJob (start another job on purpose). Upload refuses a job whose run
//     is unfinished (*BusyError): Resume continues that.
//   - Job ids repeat across servers (and a restarted emulator): a saved
//     state records the API's base URL and the job's created_at, and state
//     of another job with the same id is never continued (it is moved
//     aside). Results files of another job with the same id are never
//     replaced: this job's are named J-<created time>-* instead, and the
//     choice is kept in the manifest.
//
// A Loader prints nothing: notes reach Config.Notify as Events, progress is
// read with Stats, and each operation returns a Report of what it did.
// Stats.String and Report.String are the bulkload command's progress line
// and summary, for a program's log. Status reads a job with this machine's
// saved loads of it (what each stored, what is in doubt, how far its
// results were read), SavedJobs lists the jobs that have saved loads, and
// Jobs lists the team's jobs.
package load
