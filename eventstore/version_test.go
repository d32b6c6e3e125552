package eventstore

import "testing"

func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"2.9.25": false, "2.11.9": false, "2.12.0": true, "2.12.0-RC.1": true,
		"2.15.2": true, "3.0.0": true, "": false, "x.y": false,
	} {
		if got := versionAtLeast(v, minServer); got != want {
			t.Errorf("versionAtLeast(%q) = %v, want %v", v, got, want)
		}
	}
}
