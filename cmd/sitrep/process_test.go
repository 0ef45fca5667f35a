package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asMainEnv makes the test binary run sitrep's main instead of the tests, so
// that tests can start real sitrep processes (and kill -9 them).
const asMainEnv = "SITREP_TEST_AS_MAIN"

// deliveryLeaseEnv sets such a process's outbox lease (serveHooks.deliveryLease),
// as a Go duration: a test-only knob, absent from the sitrep binary.
const deliveryLeaseEnv = "SITREP_TEST_DELIVERY_LEASE"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		if v := os.Getenv(deliveryLeaseEnv); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				panic(deliveryLeaseEnv + ": " + err.Error())
			}
			processHooks = &serveHooks{deliveryLease: d}
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// sitrepProcess is a real `sitrep` process started from the test binary.
type sitrepProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   chan string   // the address from "sitrep serving"
	done   chan struct{} // closed when the process has exited
	err    error         // its exit, once done is closed
}

// exited waits up to d for the process to end and returns its exit error;
// ok is false if it is still running.
func (p *sitrepProcess) exited(d time.Duration) (err error, ok bool) {
	select {
	case <-p.done:
		return p.err, true
	case <-time.After(d):
		return nil, false
	}
}

var servingAddr = regexp.MustCompile(`msg="sitrep serving" addr=(\S+)`)

func startSitrep(t *testing.T, vars map[string]string, args ...string) *sitrepProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{asMainEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	p := &sitrepProcess{cmd: cmd, stderr: &syncBuffer{}, addr: make(chan string, 1), done: make(chan struct{})}
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			if m := servingAddr.FindStringSubmatch(line); m != nil {
				p.addr <- m[1]
			}
		}
	}()
	go func() { p.err = cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// serving waits until the process serves, and returns its address.
func (p *sitrepProcess) serving(t *testing.T) string {
	t.Helper()
	select {
	case a := <-p.addr:
		return a
	case <-p.done:
		t.Fatalf("sitrep exited before serving: %v\n%s", p.err, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("sitrep did not start serving:\n%s", p.stderr.String())
	}
	return ""
}

func serveVars(dbPath string) map[string]string {
	return map[string]string{"SITREP_DB": dbPath, "SITREP_ADDR": "127.0.0.1:0", "SITREP_WEBHOOK_TOKEN": "tok", "SITREP_CONSOLE": "off"}
}

// TestSecondServerOnSameSQLiteFileRefusesToStart: a second `sitrep serve`
// on the file a live one serves would take over the first one's running
// runbook runs and in-flight deliveries; it must refuse to start, say why,
// and leave the first one serving. Once the first is killed (-9), a new one
// starts on the same file.
func TestSecondServerOnSameSQLiteFileRefusesToStart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sitrep.db")
	first := startSitrep(t, serveVars(dbPath), "serve")
	addr := first.serving(t)

	// The same file under another name: a symbolic link.
	link := filepath.Join(t.TempDir(), "alias.db")
	if err := os.Symlink(dbPath, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dbPath, link} {
		second := startSitrep(t, serveVars(path), "serve")
		err, ok := second.exited(60 * time.Second)
		if !ok {
			t.Fatalf("second serve on %s did not exit:\n%s", path, second.stderr.String())
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("second serve on %s: exit %v, want status 1", path, err)
		}
		if msg := second.stderr.String(); !strings.Contains(msg, "served by another running process") || !strings.Contains(msg, "PostgreSQL") {
			t.Errorf("second serve's message does not say why and what to do:\n%s", msg)
		}
	}
	// The CLI still reads the file the server holds.
	var out bytes.Buffer
	if code := run(context.Background(), []string{"incidents"}, testEnv(map[string]string{"SITREP_DB": dbPath}, &out, io.Discard)); code != 0 {
		t.Errorf("sitrep incidents beside a running server: exit %d", code)
	}
	// The first server is unaffected.
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first server after the refused second: %v %v", resp, err)
	}
	resp.Body.Close()

	// kill -9 releases the lock with the process.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, ok := first.exited(60 * time.Second); !ok {
		t.Fatal("kill -9 did not end the first server")
	}
	third := startSitrep(t, serveVars(dbPath), "serve")
	third.serving(t)
	_ = third.cmd.Process.Signal(syscall.SIGTERM)
	if err, ok := third.exited(60 * time.Second); !ok {
		t.Fatal("third serve did not stop on SIGTERM")
	} else if err != nil {
		t.Errorf("third serve after SIGTERM: %v\n%s", err, third.stderr.String())
	}
}

// TestServerClosesSlowAndIdleConnections: a client trickling a body, or
// holding a keep-alive connection idle, loses its connection after the
// server's limits.
func TestServerClosesSlowAndIdleConnections(t *testing.T) {
	cfg, err := LoadConfig("", false, envFrom(serveVars(filepath.Join(t.TempDir(), "sitrep.db"))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	hooks := &serveHooks{onListen: func(a net.Addr) { addrc <- a },
		httpLimits: httpLimits{body: 300 * time.Millisecond, idle: 300 * time.Millisecond}}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, testEnv(nil, io.Discard, io.Discard), hooks) }()
	defer func() { cancel(); <-done }()
	addr := (<-addrc).String()

	for _, path := range []string{"/webhooks/alert", "/webhooks/pagerduty", "/webhooks/alertmanager"} {
		t.Run("trickled body "+path, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Headers at once, then a body that never completes.
			if _, err := io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"title\":"); err != nil {
				t.Fatal(err)
			}
			trickle := time.NewTicker(50 * time.Millisecond)
			defer trickle.Stop()
			// Without a body deadline the connection would stay open for
			// as long as the client trickles: give it far longer than the
			// 300 ms limit and expect the server to have ended it.
			giveUp := time.After(20 * time.Second)
			for {
				select {
				case <-trickle.C:
					if _, err := io.WriteString(c, " "); err != nil {
						return // the server closed the connection
					}
				case <-giveUp:
					t.Fatal("the server still reads a trickled body after 20 s")
				}
			}
		})
	}
	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("unexpected data on an idle connection")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("an idle keep-alive connection was still open after 20 s")
		}
	})
}
