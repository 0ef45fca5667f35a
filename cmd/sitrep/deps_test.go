package main

import (
	"os/exec"
	"slices"
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

const (
	modulePath   = "github.com/sitrep-io/sitrep"
	slackGoPath  = "github.com/slack-go/slack"
	slackchatPkg = modulePath + "/slackchat"
	// The stand-in for Slack in tests and the demo may import slack-go too:
	// it speaks Slack's wire format with slack-go's types, as Slack would.
	slackfakePkg = modulePath + "/internal/slackfake"
)

// One package per vendor (issue 9): slackchat is the only package that
// imports slack-go (besides the fake Slack), so cmd/sitrep and cmd/loadgen
// wire Slack through slackchat's API, and handlers stays vendor-free: it
// does not import slackchat, nor anything that links slack-go. Tests may
// import slack-go; only the packages' own imports are checked.
func TestOnlySlackchatImportsSlackGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", modulePath+"/...").Output()
	if err != nil {
		t.Skipf("go list is not available here: %v", err)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, imports := fields[0], fields[1:]
		checked++
		if pkg == slackchatPkg || pkg == slackfakePkg {
			continue
		}
		for _, imp := range imports {
			if imp == slackGoPath || strings.HasPrefix(imp, slackGoPath+"/") {
				t.Errorf("%s imports %s; only slackchat may: use slackchat's API", pkg, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("go list named %d packages of %s; the check saw too little to mean anything:\n%s", checked, modulePath, out)
	}

	deps, err := exec.Command("go", "list", "-deps", modulePath+"/handlers").Output()
	if err != nil {
		t.Fatalf("go list -deps handlers: %v", err)
	}
	for _, dep := range strings.Fields(string(deps)) {
		if dep == slackchatPkg || dep == slackGoPath || strings.HasPrefix(dep, slackGoPath+"/") {
			t.Errorf("handlers links %s; it must stay vendor-free (slackchat imports handlers, not the reverse)", dep)
			break
		}
	}
	if !slices.Contains(strings.Fields(string(deps)), modulePath+"/bot") {
		t.Fatalf("go list -deps handlers does not name bot; the check saw nothing:\n%s", deps)
	}
}
