// Package roomlog keeps rooms' state on disk so that a room survives a
// podiumd restart. Each room has one append-only file of JSON lines in the
// state directory: an optional snapshot of the room's state (room.State)
// followed by the actions the room accepted since (room.Action). Loading a
// room reads the snapshot and replays the actions after it (room.Apply), so
// the result is the state the room had when its last line was written.
//
// The hot path is cheap: Append, called by the signaling server under the
// room's lock for every accepted action, only queues the action in memory.
// A background goroutine writes the queued actions every FlushInterval
// (default 100 ms) and fsyncs the file before the next tick. The loss
// window is therefore: a crash of podiumd or of the machine loses the
// actions accepted in the last FlushInterval (plus the time the write and
// fsync take); Close (a graceful stop) writes everything.
//
// Files do not grow without bound: the writer keeps its own copy of each
// room's state (it applies the actions it writes) and rewrites the file as
// one snapshot when the actions written since the last snapshot take more
// than twice its size (and at least MinCompactBytes). A file is thus at most
// about three snapshots long, and a snapshot is bounded by the room's limits
// (participants, chat history, questions, polls). A rewrite goes to a
// temporary file that is fsynced and renamed over the log, so a crash
// leaves either the old file or the new one. A room that ends (nobody in it
// and nobody within the reconnect grace) has its file removed.
//
// A damaged line (a crash in the middle of a write, a disk error, an edit)
// is skipped with a logged error; the rest of the file still loads, and the
// file is rewritten clean on the next write. Room names are escaped into
// file names of [a-z0-9_-] and %XX (long names end in a hash), so no name
// reaches outside the directory.
package roomlog

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium/signaling/room"
)

// Options configures a Store.
type Options struct {
	// Dir is the state directory (created if missing, mode 0700).
	Dir string
	// FlushInterval is how often queued actions are written and fsynced
	// (default 100 ms): the most a crash loses.
	FlushInterval time.Duration
	// MinCompactBytes: a log is not rewritten as a snapshot before this
	// many bytes of actions follow the last snapshot (default 256 KiB).
	MinCompactBytes int64
	// MaxAge: logs not written for this long are removed when the store
	// opens (rooms nobody came back to; default 7 days, negative: keep).
	MaxAge time.Duration
	// Room is the room config used for rooms appended to before any Load
	// (the server always loads first).
	Room   room.Config
	Logger *slog.Logger
}

// Store is a directory of room logs. It is safe for concurrent use.
type Store struct {
	opt Options
	log *slog.Logger

	mu     sync.Mutex
	rooms  map[string]*roomLog
	drops  map[string]bool // rooms whose file is to be removed
	closed bool

	flushMu   sync.Mutex // one writer at a time (the ticker, Flush, Close)
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// roomLog is one room's queue and the writer's view of it.
type roomLog struct {
	name string
	path string

	mu      sync.Mutex // guards pending
	pending []room.Action

	// Writer only (flushMu):
	state     room.State // the room as the file will hold it
	logBytes  int64      // action bytes after the last snapshot
	snapBytes int64      // size of the last snapshot
	rewrite   bool       // next write is a snapshot (fresh, damaged or failed file)
	failed    bool       // last write failed (logged once)
}

// Open opens (creating it if needed) the state directory and starts the
// writer. Close stops it.
func Open(opt Options) (*Store, error) {
	if opt.Dir == "" {
		return nil, errors.New("roomlog: no state directory")
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = 100 * time.Millisecond
	}
	if opt.MinCompactBytes <= 0 {
		opt.MinCompactBytes = 256 << 10
	}
	if opt.MaxAge == 0 {
		opt.MaxAge = 7 * 24 * time.Hour
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	opt.Room = opt.Room.Defaults()
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("roomlog: %w", err)
	}
	s := &Store{opt: opt, log: opt.Logger.With("component", "roomlog"), rooms: map[string]*roomLog{}, drops: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	s.clean()
	go s.run()
	return s, nil
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.opt.Dir }

// clean removes leftover temporary files and logs older than MaxAge.
func (s *Store) clean() {
	ents, err := os.ReadDir(s.opt.Dir)
	if err != nil {
		s.log.Error("reading the state directory", "dir", s.opt.Dir, "err", err)
		return
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, filePrefix) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(s.opt.Dir, n)
		if strings.HasSuffix(n, tmpSuffix) {
			_ = os.Remove(p)
			continue
		}
		if info, err := e.Info(); err == nil && s.opt.MaxAge > 0 && time.Since(info.ModTime()) > s.opt.MaxAge {
			s.log.Info("removing a room log nobody came back to", "file", n, "modified", info.ModTime())
			_ = os.Remove(p)
		}
	}
}

const (
	filePrefix = "room-"
	fileSuffix = ".jsonl"
	tmpSuffix  = ".tmp"
	maxNameLen = 160 // of the escaped part; longer names are shortened and hashed
)

// FileName is the file (no directory) that holds the room's log: the name
// with every byte outside [a-z0-9_-] written as %XX (so no '/', '.', NUL or
// upper case, which some file systems fold), shortened and followed by a
// hash of the whole name when long.
func FileName(roomName string) string {
	var b strings.Builder
	for i := 0; i < len(roomName); i++ {
		c := roomName[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	esc := b.String()
	if len(esc) > maxNameLen {
		h := sha256.Sum256([]byte(roomName))
		esc = esc[:maxNameLen/2] + "~" + hex.EncodeToString(h[:16])
	}
	return filePrefix + esc + fileSuffix
}

// Path is the room's log file in the state directory.
func (s *Store) Path(roomName string) string { return filepath.Join(s.opt.Dir, FileName(roomName)) }

// record is one line of a log: a snapshot or an action.
type record struct {
	Snapshot *snapshot    `json:"snapshot,omitempty"`
	Action   *room.Action `json:"action,omitempty"`
}

type snapshot struct {
	Room  string     `json:"room"`
	State room.State `json:"state"`
}

// Load returns the room's saved state with cfg as its limits (ok false:
// nothing saved; the state is then room.New(cfg)). From now on the store
// follows the room through Append until Drop. Damaged lines are skipped
// and logged; Load never fails.
func (s *Store) Load(roomName string, cfg room.Config) (room.State, bool) {
	s.mu.Lock()
	if rl := s.rooms[roomName]; rl != nil {
		// Loaded already (the server creates a room once; this is a
		// second opinion): the writer's copy plus what is queued.
		s.mu.Unlock()
		s.flushMu.Lock()
		defer s.flushMu.Unlock()
		st := rl.state.Clone()
		rl.mu.Lock()
		for _, a := range rl.pending {
			st, _, _ = room.Apply(st, a)
		}
		rl.mu.Unlock()
		return st, true
	}
	defer s.mu.Unlock()
	// Reading under s.mu keeps the writer away from this file: it writes
	// only rooms in s.rooms and removes dropped files before their name
	// leaves s.drops. A room is loaded once per run.
	path := s.Path(roomName)
	st, ok := room.New(cfg), false
	if !s.drops[roomName] {
		st, ok = s.read(path, roomName, cfg)
	}
	// The file is rewritten as a snapshot on the next write: clean, and
	// without a damaged last line new lines would follow.
	s.rooms[roomName] = &roomLog{name: roomName, path: path, rewrite: true, state: st.Clone()}
	return st, ok
}

// read loads a log file (ok false: no file).
func (s *Store) read(path, roomName string, cfg room.Config) (room.State, bool) {
	st := room.New(cfg)
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("opening a room log: the room starts empty", "room", roomName, "file", path, "err", err)
		}
		return st, false
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var applied, skipped int
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if s.readLine(&st, line, roomName, cfg, n, err == io.EOF) {
				applied++
			} else {
				skipped++
			}
		}
		if err != nil {
			if err != io.EOF {
				s.log.Error("reading a room log: the rest is skipped", "room", roomName, "file", path, "line", n, "err", err)
			}
			break
		}
	}
	s.log.Info("room restored from its log", "room", roomName, "records", applied, "skipped", skipped, "seq", st.Seq, "members", len(st.Members), "hands", len(st.Queue), "chat", len(st.Chat))
	return st, true
}

// readLine applies one line to st (false: the line was skipped).
func (s *Store) readLine(st *room.State, line []byte, roomName string, cfg room.Config, n int, last bool) bool {
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil {
		why := "damaged line skipped"
		if last {
			why = "truncated last line skipped (a write cut short)"
		}
		s.log.Error("room log: "+why, "room", roomName, "line", n, "err", err)
		return false
	}
	switch {
	case rec.Snapshot != nil:
		if rec.Snapshot.Room != roomName {
			s.log.Error("room log: snapshot of another room skipped", "room", roomName, "line", n, "snapshot", rec.Snapshot.Room)
			return false
		}
		*st = sanitize(rec.Snapshot.State, cfg)
	case rec.Action != nil:
		ns, _, err := room.Apply(*st, *rec.Action)
		if err != nil {
			s.log.Warn("room log: action refused on replay", "room", roomName, "line", n, "kind", rec.Action.Kind, "err", err)
			return false
		}
		*st = ns
	default:
		s.log.Error("room log: line with neither snapshot nor action skipped", "room", roomName, "line", n)
		return false
	}
	return true
}

// sanitize makes a decoded snapshot safe for room.Apply whatever the file
// held: no nil maps or entries, ids that match positions, counts that
// match options, and the queue rebuilt from the hands.
func sanitize(st room.State, cfg room.Config) room.State {
	out := room.New(cfg)
	out.Seq, out.Mode, out.LowerAll, out.LowerAllMs, out.QAOpen, out.ChatSeq = st.Seq, st.Mode, st.LowerAll, st.LowerAllMs, st.QAOpen, st.ChatSeq
	if out.Mode == "" {
		out.Mode = room.New(cfg).Mode
	}
	for id, m := range st.Members {
		if m != nil {
			m.ID = id
			out.Members[id] = m
		}
	}
	for id, h := range st.Hands {
		if h == nil || out.Members[id] == nil {
			continue
		}
		out.Hands[id] = h
		if h.Raised {
			out.Queue = append(out.Queue, room.QueueKey{TimeMs: h.TimeMs, ID: id})
		}
	}
	sort.Slice(out.Queue, func(i, j int) bool {
		a, b := out.Queue[i], out.Queue[j]
		return a.TimeMs < b.TimeMs || (a.TimeMs == b.TimeMs && a.ID < b.ID)
	})
	for id, on := range st.Stage {
		if on && out.Members[id] != nil {
			out.Stage[id] = true
		}
	}
	if out.Stage[st.Spotlight] {
		out.Spotlight = st.Spotlight
	}
	out.Chat = st.Chat
	for k, v := range st.ChatIDs {
		out.ChatIDs[k] = v
	}
	for _, q := range st.Questions {
		if q == nil {
			continue
		}
		q.ID = len(out.Questions) + 1
		if q.Voters == nil {
			q.Voters = map[string]bool{}
		}
		q.Votes = len(q.Voters)
		out.Questions = append(out.Questions, q)
	}
	for k, v := range st.QuestionIDs {
		if v >= 1 && v <= len(out.Questions) {
			out.QuestionIDs[k] = v
		}
	}
	for _, p := range st.Polls {
		if p == nil {
			continue
		}
		p.ID = len(out.Polls) + 1
		if len(p.Counts) != len(p.Options) {
			p.Counts = make([]int, len(p.Options))
		}
		if p.Votes == nil {
			p.Votes = map[string]int{}
		}
		for id, o := range p.Votes {
			if o < 0 || o >= len(p.Options) {
				delete(p.Votes, id)
			}
		}
		out.Polls = append(out.Polls, p)
	}
	return out
}

// Append queues an action the room accepted. It only takes a lock and
// appends to a slice: the server calls it under the room's lock.
func (s *Store) Append(roomName string, a room.Action) {
	s.mu.Lock()
	rl := s.rooms[roomName]
	if rl == nil && !s.closed {
		// Not loaded (a caller without Load): a fresh room.
		rl = &roomLog{name: roomName, path: s.Path(roomName), rewrite: true, state: room.New(s.opt.Room)}
		s.rooms[roomName] = rl
	}
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	rl.mu.Lock()
	rl.pending = append(rl.pending, a)
	rl.mu.Unlock()
}

// Drop forgets a room that ended: its queued actions are discarded and its
// file removed on the next write.
func (s *Store) Drop(roomName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if rl := s.rooms[roomName]; rl != nil {
		delete(s.rooms, roomName)
		rl.mu.Lock()
		rl.pending = nil
		rl.mu.Unlock()
	}
	s.drops[roomName] = true
}

func (s *Store) run() {
	defer close(s.done)
	tk := time.NewTicker(s.opt.FlushInterval)
	defer tk.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tk.C:
			s.Flush()
		}
	}
}

// Flush writes and fsyncs everything queued now (the writer does this
// every FlushInterval).
func (s *Store) Flush() {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.removeDropped()
	s.mu.Lock()
	rooms := make([]*roomLog, 0, len(s.rooms))
	for _, rl := range s.rooms {
		rooms = append(rooms, rl)
	}
	s.mu.Unlock()
	for _, rl := range rooms {
		s.write(rl)
	}
}

// removeDropped removes the files of dropped rooms (caller holds flushMu).
// A name leaves drops only once its file is gone, so Load never reads a
// dropped room's file.
func (s *Store) removeDropped() {
	s.mu.Lock()
	names := make([]string, 0, len(s.drops))
	for n := range s.drops {
		names = append(names, n)
	}
	s.mu.Unlock()
	if len(names) == 0 {
		return
	}
	for _, n := range names {
		if err := os.Remove(s.Path(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("removing an ended room's log", "room", n, "err", err)
		}
	}
	s.mu.Lock()
	for _, n := range names {
		delete(s.drops, n)
	}
	s.mu.Unlock()
}

// write appends rl's queued actions, or rewrites the file as a snapshot
// (caller holds flushMu).
func (s *Store) write(rl *roomLog) {
	rl.mu.Lock()
	acts := rl.pending
	rl.pending = nil
	rl.mu.Unlock()
	if len(acts) == 0 && !rl.rewrite {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range acts {
		rl.state, _, _ = room.Apply(rl.state, acts[i])
		if !rl.rewrite {
			_ = enc.Encode(record{Action: &acts[i]})
		}
	}
	if !rl.rewrite && rl.logBytes+int64(buf.Len()) > max(s.opt.MinCompactBytes, 2*rl.snapBytes) {
		rl.rewrite = true
	}
	var err error
	if rl.rewrite {
		err = s.writeSnapshot(rl)
	} else {
		err = appendSync(rl.path, buf.Bytes())
		if err == nil {
			rl.logBytes += int64(buf.Len())
		}
	}
	if err != nil {
		// The writer's copy is up to date: a snapshot next time makes up
		// for whatever this write lost.
		rl.rewrite = true
		if !rl.failed {
			s.log.Error("writing a room log (retried as a snapshot)", "room", rl.name, "err", err)
		}
		rl.failed = true
		return
	}
	if rl.failed {
		s.log.Info("room log written again", "room", rl.name)
	}
	rl.failed = false
}

func appendSync(path string, b []byte) error {
	return writeSync(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, b)
}

// writeSync writes b to the file at path opened with flag, fsyncs and
// closes it; the first error is returned.
func writeSync(path string, flag int, b []byte) error {
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSnapshot replaces rl's file with one snapshot line: written to a
// temporary file, fsynced, renamed over the log, directory fsynced.
func (s *Store) writeSnapshot(rl *roomLog) error {
	b, err := json.Marshal(record{Snapshot: &snapshot{Room: rl.name, State: rl.state}})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp := rl.path + tmpSuffix
	err = writeSync(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, b)
	if err == nil {
		err = os.Rename(tmp, rl.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(s.opt.Dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	rl.rewrite, rl.logBytes, rl.snapBytes = false, 0, int64(len(b))
	return nil
}

// Close writes everything queued and stops the writer; later Appends are
// ignored. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.Flush()
	})
	return nil
}
