package bench

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/bulkload/bulkload/chunker"
)

// The dialect benchmarks read the people of BenchmarkChunkCSV as a
// spreadsheet exports them: headers as people write them ("Email
// Address"), mapped back to the API's fields with Config.Map, and the text
// in Windows-1252. Each reports its speed relative to BenchmarkChunkCSV of
// the same run ("x-csv"), which must run first:
//
//	go test -run '^$' -bench 'ScanLines|ChunkCSV' -benchmem ./bench/

var (
	sheetOnce sync.Once
	sheetUTF8 []byte // the CSV input with spreadsheet headers
	sheet1252 []byte // the same in Windows-1252
	sheetMap  []chunker.MapEntry
)

// sheetInputs returns the spreadsheet-style inputs and the 5-column mapping
// that reads them.
func sheetInputs(b *testing.B) (utf8In, cp1252In []byte, m []chunker.MapEntry) {
	b.Helper()
	_, csvIn := inputs(b)
	sheetOnce.Do(func() {
		header, rest, _ := bytes.Cut(csvIn, []byte("\n"))
		renames := [][2]string{
			{"email_address", "Email Address"}, {"first_name", "First Name"}, {"last_name", "Last Name"},
			{"title", "Job Title"}, {"person_company_name", "Company"},
		}
		for _, r := range renames {
			header = bytes.Replace(header, []byte(r[0]), []byte(r[1]), 1)
			e, err := chunker.ParseMap(r[1] + "=" + r[0])
			if err != nil {
				panic(err)
			}
			sheetMap = append(sheetMap, e)
		}
		sheetUTF8 = append(append(append([]byte(nil), header...), '\n'), rest...)
		enc := encoding.ReplaceUnsupported(charmap.Windows1252.NewEncoder())
		var err error
		if sheet1252, err = enc.Bytes(sheetUTF8); err != nil {
			panic(err)
		}
	})
	return sheetUTF8, sheet1252, sheetMap
}

// BenchmarkChunkCSVMapped reads the spreadsheet headers through a 5-column
// Config.Map, in UTF-8: the cost of mapping alone.
func BenchmarkChunkCSVMapped(b *testing.B) {
	in, _, m := sheetInputs(b)
	benchDialect(b, in, chunker.Config{Format: chunker.FormatCSV, Map: m})
}

// BenchmarkChunkCSVMapped1252 adds decoding from Windows-1252: the issue's
// "5-column mapping from windows-1252" case.
func BenchmarkChunkCSVMapped1252(b *testing.B) {
	_, in, m := sheetInputs(b)
	benchDialect(b, in, chunker.Config{Format: chunker.FormatCSV, Map: m, Encoding: "windows-1252"})
}

// BenchmarkChunkCSVChecked adds everything else a spreadsheet load would
// turn on: pre-flight for person/upsert, an UpsertKey, and per-record
// lines for the results join.
func BenchmarkChunkCSVChecked(b *testing.B) {
	_, in, m := sheetInputs(b)
	benchDialect(b, in, chunker.Config{
		Format: chunker.FormatCSV, Map: m, Encoding: "windows-1252",
		Type: "person/upsert", UpsertKey: "email_address", RecordLines: true,
	})
}

// BenchmarkChunkCSVDetect is BenchmarkChunkCSV with the format and the
// delimiter told from the content (stdin): detection costs once per input.
func BenchmarkChunkCSVDetect(b *testing.B) {
	_, in := inputs(b)
	benchDialect(b, in, chunker.Config{Source: "stdin"})
}

func benchDialect(b *testing.B, data []byte, cfg chunker.Config) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer cpuMeter(b, len(data))()
	records := 0
	for b.Loop() {
		c, err := chunker.New(bytes.NewReader(data), cfg)
		if err != nil {
			b.Fatal(err)
		}
		records = 0
		for {
			batch, err := c.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			records += batch.Records
		}
	}
	if records != peopleCount() {
		b.Fatalf("read %d records; want %d", records, peopleCount())
	}
	speed := mbps(b, len(data))
	if v, ok := baseline["csv"]; ok {
		b.ReportMetric(speed/v, "x-csv")
	}
	if v, ok := baseline["scanlines"]; ok {
		b.ReportMetric(speed/v, "x-scanlines")
	}
}

// BenchmarkChunkCSVInterleaved runs ChunkCSV, ChunkCSVMapped1252 and
// ChunkCSVChecked in turn within each iteration and reports each one's
// MB/s and its ratio to plain CSV ("x-csv-*"). On a machine shared with
// other work, load drifts between benchmarks that run one after the other;
// interleaving the three within one iteration exposes them to the same
// load, so the ratios hold even when the MB/s do not. "cpu-x-csv-*" is the
// same ratio in process CPU time, which time slices lost to other
// processes do not count.
func BenchmarkChunkCSVInterleaved(b *testing.B) {
	_, plain := inputs(b)
	_, in1252, m := sheetInputs(b)
	cfgs := []chunker.Config{
		{Format: chunker.FormatCSV},
		{Format: chunker.FormatCSV, Map: m, Encoding: "windows-1252"},
		{Format: chunker.FormatCSV, Map: m, Encoding: "windows-1252", Type: "person/upsert", UpsertKey: "email_address", RecordLines: true},
	}
	data := [][]byte{plain, in1252, in1252}
	names := []string{"csv", "mapped1252", "checked"}
	var spent, cpu [3]time.Duration
	b.SetBytes(int64(len(plain) + 2*len(in1252)))
	for b.Loop() {
		for k, cfg := range cfgs {
			start, cpu0 := time.Now(), processCPU()
			chunkAll(b, data[k], cfg)
			spent[k] += time.Since(start)
			cpu[k] += processCPU() - cpu0
		}
	}
	for k, name := range names {
		b.ReportMetric(float64(len(data[k]))*float64(b.N)/spent[k].Seconds()/1e6, name+"-MB/s")
		if k > 0 {
			size := float64(len(data[k])) / float64(len(data[0]))
			b.ReportMetric(spent[0].Seconds()/spent[k].Seconds()*size, "x-csv-"+name)
			if cpu[0] > 0 && cpu[k] > 0 {
				b.ReportMetric(cpu[0].Seconds()/cpu[k].Seconds()*size, "cpu-x-csv-"+name)
			}
		}
	}
}

// chunkAll reads every batch of data.
func chunkAll(b *testing.B, data []byte, cfg chunker.Config) {
	c, err := chunker.New(bytes.NewReader(data), cfg)
	if err != nil {
		b.Fatal(err)
	}
	records := 0
	for {
		batch, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		records += batch.Records
	}
	if records != peopleCount() {
		b.Fatalf("read %d records; want %d", records, peopleCount())
	}
}
