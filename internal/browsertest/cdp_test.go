package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// chromiumFlags are the flags that make Debian's Chromium a headless WebRTC
// peer with a fake camera and microphone (see ../shared/FACTS.md).
var chromiumFlags = []string{
	"--headless=new", "--no-sandbox", "--disable-gpu",
	"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
	"--autoplay-policy=no-user-gesture-required",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--no-first-run", "--no-default-browser-check", "--mute-audio",
	"--disable-features=WebRtcHideLocalIpsWithMdns",
	"--window-size=1280,800", "--hide-scrollbars",
	"--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
}

// browser is a running Chromium and a DevTools connection to its page.
type browser struct {
	cmd  *exec.Cmd
	page *cdp
	logf func(string, ...any)
}

// launchChromium starts exe headless on about:blank and connects to the page.
func launchChromium(ctx context.Context, exe, userDir string, logf func(string, ...any)) (*browser, error) {
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+userDir, "about:blank")
	cmd := exec.Command(exe, args...)
	// Same process group as the test (the parent kills the group); die
	// with the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &browser{cmd: cmd, logf: logf}
	wsURL := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := re.FindStringSubmatch(line); m != nil {
				wsURL <- m[1]
				continue
			}
			// D-Bus and ALSA are absent on a server; the rest is worth seeing.
			if (strings.Contains(line, "ERROR") || strings.Contains(line, "FATAL")) && !strings.Contains(line, "dbus") && !strings.Contains(line, "alsa") {
				logf("chromium: %s", line)
			}
		}
	}()
	var u string
	select {
	case u = <-wsURL:
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("chromium printed no DevTools address: %w", ctx.Err())
	}
	// The page target: http://host:port/json/list.
	hostport := strings.TrimPrefix(u, "ws://")
	hostport = hostport[:strings.Index(hostport, "/")]
	var targets []struct{ Type, URL, WebSocketDebuggerURL string }
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostport+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			b.Close()
			return nil, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			b.page, err = dialCDP(ctx, tg.WebSocketDebuggerURL, logf)
			if err != nil {
				b.Close()
				return nil, err
			}
			return b, nil
		}
	}
	b.Close()
	return nil, fmt.Errorf("chromium has no page target: %+v", targets)
}

// Close ends the DevTools connection and kills the browser.
func (b *browser) Close() {
	if b.page != nil {
		b.page.conn.Close(websocket.StatusNormalClosure, "")
	}
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Kill()
		_ = b.cmd.Wait()
	}
}

// cdp is a minimal Chrome DevTools Protocol client for one target.
type cdp struct {
	conn    *websocket.Conn
	logf    func(string, ...any)
	mu      sync.Mutex
	next    int64
	waiting map[int64]chan cdpMsg
}

type cdpMsg struct {
	ID     int64           `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func dialCDP(ctx context.Context, url string, logf func(string, ...any)) (*cdp, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20) // screenshots
	c := &cdp{conn: conn, logf: logf, waiting: map[int64]chan cdpMsg{}}
	go c.readLoop()
	return c, nil
}

func (c *cdp) readLoop() {
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			for id, ch := range c.waiting {
				close(ch)
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			return
		}
		var m cdpMsg
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.waiting[m.ID]
			delete(c.waiting, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		c.event(m)
	}
}

// event logs the page's console and uncaught exceptions.
func (c *cdp) event(m cdpMsg) {
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(m.Params, &p) == nil {
			var parts []string
			for _, a := range p.Args {
				if a.Value != nil {
					parts = append(parts, fmt.Sprint(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			c.logf("page console.%s: %s", p.Type, strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		c.logf("page exception: %s", m.Params)
	}
}

// Call sends a DevTools command and returns its result.
func (c *cdp) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan cdpMsg, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	b, _ := json.Marshal(req)
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, io.ErrUnexpectedEOF
		}
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise)
// and unmarshals its JSON value into out (nil: discard).
func (c *cdp) Eval(ctx context.Context, expr string, out any) error {
	res, err := c.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("page: %s %s", e.Text, e.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Screenshot captures the page as PNG into path.
func (c *cdp) Screenshot(ctx context.Context, path string) error {
	res, err := c.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return err
	}
	var r struct {
		Data []byte `json:"data"` // base64 in JSON
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	return os.WriteFile(path, r.Data, 0o644)
}
