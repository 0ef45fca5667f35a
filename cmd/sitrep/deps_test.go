package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The server binary links no test code: the demo's stand-ins take
// fakehttp.TB, not testing.TB (issue 9).
func TestBinaryLinksNoTestingPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list is not available here: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasPrefix(dep, "testing/") {
			t.Errorf("sitrep links %s; nothing in the binary may import the testing packages", dep)
		}
	}
}
