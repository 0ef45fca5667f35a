package publicpage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/sitrep-io/sitrep/internal/chromiumtest"
)

// TestSiteInChromium opens the page in a real browser with JavaScript
// disabled, on a phone-sized screen: a title with HTML in it reads as text,
// no script exists on the page, nothing overflows sideways. It keeps the
// screenshot in docs/statuspage.png when SITREP_SCREENSHOT=1.
func TestSiteInChromium(t *testing.T) {
	e := newPageEnv(t)
	e.seed()
	ctx := chromiumtest.Browser(t)

	disableScripts := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(ctx,
		disableScripts,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("overall")),
	); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	title := run(t, ctx, chromedp.Text(chromedp.CSS("article h3")))
	banner := run(t, ctx, chromedp.Text(chromedp.ID("overall")))
	scripts := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("script, img").length`))
	scrollWidth := run(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	clientWidth := run(t, ctx, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	if title != hostileTitle {
		t.Errorf("the title reads %q, want the text %q", title, hostileTitle)
	}
	if banner != "Major outage" {
		t.Errorf("banner %q", banner)
	}
	if scripts != 0 {
		t.Errorf("%d script or img elements on the page (a title or text became markup)", scripts)
	}
	if scrollWidth > clientWidth {
		t.Errorf("the page is %d px wide on a %d px phone screen: it scrolls sideways", scrollWidth, clientWidth)
	}

	if os.Getenv("SITREP_SCREENSHOT") == "1" {
		if err := chromedp.Do(ctx,
			chromedp.EmulateViewport(760, 900),
			chromedp.Navigate(e.srv.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("overall")),
		); err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		png := run(t, ctx, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join("..", "docs", "statuspage.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs one browser action and returns its value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	return chromiumtest.Run(t, ctx, a)
}
