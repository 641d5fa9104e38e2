package main

import (
	"testing"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	line := "uploading: 12000/20000 records (60%) · 3 batches · 4.2 MiB · 1.2k/s · ETA 6s · budget 412 left"
	for _, tt := range []struct {
		width int
		want  string
	}{
		{0, line},   // not a terminal: as it is
		{200, line}, // room enough
		{80, "uploading: 12000/20000 records (60%) · 3 batches · 4.2 MiB · 1.2k/s · ETA 6s"},
		{40, "uploading: 12000/20000 records (60%)"},
		{12, "uploading:…"},
	} {
		got := fit(line, tt.width)
		if got != tt.want || tt.width > 0 && utf8.RuneCountInString(got) >= tt.width {
			t.Errorf("fit(%d) = %q; want %q, shorter than the width", tt.width, got, tt.want)
		}
	}
}
