// Package client is the participant side of Podium's signaling protocol: a
// WebSocket connection that sends requests and delivers the server's
// messages in order.
package client

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/podiumhq/podium/signaling/protocol"
)

// Client is one signaling connection.
type Client struct {
	ws     *websocket.Conn
	nextID atomic.Uint64
	wmu    sync.Mutex
	in     chan protocol.Envelope
	err    error
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
}

// Dial connects to a signaling URL (ws:// or wss://).
func Dial(ctx context.Context, url string) (*Client, error) {
	return DialWith(ctx, url, nil)
}

// DialWith connects with WebSocket options: an HTTP client (TLS roots for
// wss://) and headers such as Origin.
func DialWith(ctx context.Context, url string, opts *websocket.DialOptions) (*Client, error) {
	ws, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Podium server at %s: %w", url, err)
	}
	ws.SetReadLimit(4 * protocol.MaxMessageBytes)
	cctx, cancel := context.WithCancel(context.Background())
	c := &Client{ws: ws, in: make(chan protocol.Envelope, 256), done: make(chan struct{}), ctx: cctx, cancel: cancel}
	go c.readLoop()
	return c, nil
}

func (c *Client) readLoop() {
	defer close(c.in)
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(c.ctx)
		if err != nil {
			c.err = err
			return
		}
		env, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		select {
		case c.in <- env:
		case <-c.ctx.Done():
			return
		}
	}
}

// Messages delivers server messages in order; it is closed when the
// connection ends (Err then tells why).
func (c *Client) Messages() <-chan protocol.Envelope { return c.in }

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is the reason the connection ended (after Done).
func (c *Client) Err() error { return c.err }

// Send sends a message with a fresh request id, which it returns.
func (c *Client) Send(ctx context.Context, typ string, body any) (string, error) {
	id := strconv.FormatUint(c.nextID.Add(1), 10)
	b, err := protocol.Encode(typ, id, 0, body)
	if err != nil {
		return "", err
	}
	return id, c.SendRaw(ctx, b)
}

// SendRaw writes bytes as one text message (tests use it for bad input).
func (c *Client) SendRaw(ctx context.Context, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// Close closes the connection.
func (c *Client) Close() error {
	c.cancel()
	return c.ws.Close(websocket.StatusNormalClosure, "bye")
}
