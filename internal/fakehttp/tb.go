package fakehttp

// TB is the part of testing.TB the fakes use. A test passes its *testing.T;
// the demo, which runs the fakes inside the sitrep binary, passes nil. The
// fakes take this interface, not testing.TB, so that importing them does
// not link the testing package into the server (`go list -deps
// ./cmd/sitrep` names no testing).
type TB interface {
	Helper()
	Cleanup(func())
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
