// Podium browser client. Speaks the signaling protocol of
// signaling/protocol (JSON envelopes {type, id, seq, body} over /ws): the
// server offers, this page answers; trickle ICE both ways.
'use strict';

const $ = (sel) => document.querySelector(sel);

// Everything the page knows; exposed as window.podium for debugging and tests.
const st = {
  ws: null, pc: null, self: null, room: '', roster: new Map(),
  local: null, tiles: new Map(), chain: Promise.resolve(), pendingCands: [],
  position: 0, count: 0, queue: new Map(), chatSeqs: new Set(), nextID: 1,
  pings: new Map(), lastPing: null, pingTimer: 0, iceServers: [], gathered: {},
};
window.podium = st;

function send(type, body, id) {
  if (!st.ws || st.ws.readyState !== WebSocket.OPEN) return;
  const env = { type };
  if (id) env.id = id;
  if (body !== undefined) env.body = body;
  st.ws.send(JSON.stringify(env));
}
function request(type, body) { const id = 'w' + st.nextID++; send(type, body, id); return id; }
function setStatus(text, bad) { const s = $('#status'); s.textContent = text; s.classList.toggle('bad', !!bad); }
function randomID() { return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join(''); }

// ---- join ----

const params = new URLSearchParams(location.search);
$('#token').value = params.get('token') || '';
$('#name').value = params.get('name') || '';
$('#room').value = params.get('room') || '';
// The token names the participant; name and room are for --dev servers.
const devFields = () => { $('#dev-fields').hidden = $('#token').value.trim() !== ''; };
$('#token').addEventListener('input', devFields);
devFields();

$('#join-form').addEventListener('submit', (e) => { e.preventDefault(); join().catch((err) => fail(err.message || String(err))); });

function fail(msg) { $('#join-error').textContent = msg; $('#join-btn').disabled = false; }

async function join() {
  const token = $('#token').value.trim(), name = $('#name').value.trim(), room = $('#room').value.trim();
  if (!token && (!name || !room)) { fail('Enter an invite token (or a name and a room on a development server).'); return; }
  $('#join-btn').disabled = true;
  try {
    st.local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  } catch (err) {
    console.warn('no camera/microphone:', err);
    st.local = new MediaStream();
  }
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  st.ws = ws;
  ws.onopen = () => {
    const body = { publish: { video: st.local.getVideoTracks().length ? 1 : 0, audio: st.local.getAudioTracks().length ? 1 : 0 }, clientTimeMs: Date.now() };
    if (token) body.token = token; else { body.room = room; body.name = name; }
    send('join', body, 'join');
  };
  ws.onmessage = (ev) => {
    let env;
    try { env = JSON.parse(ev.data); } catch { return; }
    st.chain = st.chain.then(() => handle(env)).catch((err) => console.error('handling', env.type, err));
  };
  ws.onclose = () => {
    clearInterval(st.pingTimer);
    if (st.self) setStatus('disconnected', true); else fail('Could not reach the server.');
  };
}

// ---- messages ----

async function handle(env) {
  const b = env.body || {};
  switch (env.type) {
    case 'joined': return onJoined(b);
    case 'offer': return onOffer(b.sdp);
    case 'candidate':
      if (st.pc && st.pc.remoteDescription) await st.pc.addIceCandidate(b); else st.pendingCands.push(b);
      return;
    case 'participant-joined': st.roster.set(b.id, b); tile(b.id); return;
    case 'participant-left': st.roster.delete(b.id); removeTile(b.id); st.queue.delete(b.id); renderHands(); return;
    case 'error':
      if (!st.self) { fail(b.message || b.code); st.ws.close(); } else setStatus(b.message || b.code, true);
      return;
    case 'ack': return onAck(b);
    case 'hand-position': st.position = b.position; st.count = b.count; renderHands(); return;
    case 'hand-count': st.count = b.count; renderHands(); return;
    case 'hands':
      for (const h of b.hands || []) { if (h.raised) st.queue.set(h.id, h); else st.queue.delete(h.id); }
      st.count = b.count; renderHands(); return;
    case 'chat': addChat(b); return;
    case 'pong': {
      const sent = st.pings.get(env.id);
      if (sent) { st.pings.delete(env.id); st.lastPing = { clientSentMs: sent, serverTimeMs: b.serverTimeMs, clientRecvMs: Date.now() }; }
      return;
    }
  }
}

function onJoined(b) {
  st.self = b.self; st.room = b.room;
  st.roster.set(b.self.id, b.self);
  for (const p of b.participants || []) st.roster.set(p.id, p);
  const s = b.state || {};
  st.position = s.position || 0; st.count = s.count || 0;
  for (const h of s.queue || []) st.queue.set(h.id, h);
  $('#prejoin').hidden = true; $('#call').hidden = false;
  $('#room-name').textContent = b.room;
  setStatus('connecting media…');
  document.body.classList.toggle('presenter', b.self.role !== 'attendee');
  tile(b.self.id, st.local, true);
  for (const p of st.roster.values()) if (p.id !== b.self.id) tile(p.id);
  for (const m of s.chat || []) addChat(m);
  renderHands();
  const pc = newPeerConnection(b.iceServers);
  st.pc = pc;
  pc.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    st.gathered[e.candidate.type] = (st.gathered[e.candidate.type] || 0) + 1;
    send('candidate', { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
  };
  pc.onconnectionstatechange = () => setStatus(pc.connectionState === 'connected' ? 'connected' : pc.connectionState, pc.connectionState === 'failed');
  pc.ontrack = (e) => {
    // Forwarded tracks are "<publisher>:<track>" in a stream named after the publisher.
    const from = (e.streams[0] && e.streams[0].id) || e.track.id.split(':')[0];
    const t = tile(from);
    t.stream.addTrack(e.track);
    e.track.onunmute = () => { t.video.play().catch(() => {}); t.showing(); };
    e.track.onmute = () => t.showing();
  };
  ping();
  st.pingTimer = setInterval(ping, 5000);
}

// The ICE servers come with the join answer (podiumd's TURN relay with
// time-limited credentials; none when it runs without one). They are
// RTCIceServer entries already; a list the browser refuses (say, a TURN URL
// without credentials) is logged and the call goes on without it.
function newPeerConnection(servers) {
  st.iceServers = (Array.isArray(servers) ? servers : [])
    .filter((s) => s && Array.isArray(s.urls) && s.urls.length)
    .map((s) => { const o = { urls: s.urls }; if (s.username) o.username = s.username; if (s.credential) o.credential = s.credential; return o; });
  try {
    return new RTCPeerConnection({ iceServers: st.iceServers });
  } catch (err) {
    console.error('ICE servers refused; going on without them', err);
    st.iceServers = [];
    return new RTCPeerConnection({ iceServers: [] });
  }
}

function ping() {
  const now = Date.now(), id = request('ping', { clientTimeMs: now, last: st.lastPing || undefined });
  st.pings.set(id, now);
}

// The server offers a receive-only section per track this page publishes;
// attach the camera and microphone to those and answer.
async function onOffer(sdp) {
  const pc = st.pc;
  await pc.setRemoteDescription({ type: 'offer', sdp });
  const free = { video: st.local.getVideoTracks(), audio: st.local.getAudioTracks() };
  for (const sec of sdp.split(/\r?\nm=/).slice(1)) {
    const kind = sec.split(' ')[0];
    const mid = (sec.match(/\r?\na=mid:(\S+)/) || [])[1];
    if (!/\r?\na=recvonly/.test(sec) || !free[kind]) continue;
    const tr = pc.getTransceivers().find((t) => t.mid === mid);
    if (!tr || tr.sender.track) continue;
    const track = free[kind].shift();
    if (!track) continue;
    tr.direction = 'sendonly';
    await tr.sender.replaceTrack(track);
    tr.sender.setStreams(st.local);
  }
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send('answer', { sdp: pc.localDescription.sdp });
  for (const c of st.pendingCands.splice(0)) await pc.addIceCandidate(c);
}

function onAck(b) {
  if (b.type === 'hand-raise' || b.type === 'hand-lower') { st.position = b.position || 0; st.count = b.count || 0; renderHands(); }
  if (b.type === 'chat-send' && b.chat) addChat(b.chat);
}

// ---- video grid ----

function nameOf(id) { const p = st.roster.get(id); return p ? p.name : id; }

const HAND_SVG = '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M18 11V6a2 2 0 0 0-4 0"/><path d="M14 10V4a2 2 0 0 0-4 0v2"/><path d="M10 10.5V6a2 2 0 0 0-4 0v8"/><path d="M18 8a2 2 0 1 1 4 0v6a8 8 0 0 1-8 8h-2c-2.8 0-4.5-.86-6-2.34l-3.6-3.6a2 2 0 0 1 2.83-2.82L7 15"/></svg>';

function tile(id, stream, self) {
  let t = st.tiles.get(id);
  if (t) return t;
  const el = document.createElement('div');
  el.className = 'tile novideo' + (self ? ' self' : '');
  el.dataset.id = id;
  const video = document.createElement('video');
  video.autoplay = true; video.playsInline = true; video.muted = !!self;
  const name = nameOf(id) || 'Guest';
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  avatar.textContent = name.trim().charAt(0).toUpperCase();
  const label = document.createElement('span');
  label.className = 'label';
  label.textContent = name + (self ? ' (you)' : '');
  const hand = document.createElement('span');
  hand.className = 'tile-hand';
  hand.innerHTML = HAND_SVG;
  hand.title = 'Hand raised';
  el.append(avatar, video, label, hand);
  t = { el, video, stream: stream || new MediaStream() };
  const showing = () => el.classList.toggle('novideo', !(video.videoWidth > 0 && t.stream.getVideoTracks().some((v) => v.enabled && !v.muted)));
  video.addEventListener('resize', showing);
  video.addEventListener('playing', showing);
  t.showing = showing;
  video.srcObject = t.stream;
  st.tiles.set(id, t);
  $('#grid').append(el);
  layout();
  return t;
}

function removeTile(id) { const t = st.tiles.get(id); if (!t) return; t.el.remove(); st.tiles.delete(id); layout(); }
function layout() {
  const n = Math.max(1, st.tiles.size), cols = Math.ceil(Math.sqrt(n)), g = $('#grid');
  g.style.setProperty('--cols', cols); g.style.setProperty('--rows', Math.ceil(n / cols));
}

// ---- controls ----

function setToggle(btn, on, onText, offText) {
  btn.classList.toggle('on', on); btn.classList.toggle('off', !on);
  btn.setAttribute('aria-pressed', String(on)); btn.textContent = on ? onText : offText;
}
$('#mic-btn').onclick = () => {
  const tr = st.local && st.local.getAudioTracks()[0]; if (!tr) return;
  tr.enabled = !tr.enabled; setToggle($('#mic-btn'), tr.enabled, 'Mic on', 'Mic off');
};
$('#cam-btn').onclick = () => {
  const tr = st.local && st.local.getVideoTracks()[0]; if (!tr) return;
  tr.enabled = !tr.enabled; setToggle($('#cam-btn'), tr.enabled, 'Camera on', 'Camera off');
  const t = st.self && st.tiles.get(st.self.id); if (t) t.showing();
};
$('#hand-btn').onclick = () => request(st.position > 0 ? 'hand-lower' : 'hand-raise', { clickTimeMs: Date.now() });
$('#leave-btn').onclick = () => { send('leave'); st.ws.close(); if (st.pc) st.pc.close(); if (st.local) st.local.getTracks().forEach((t) => t.stop()); location.reload(); };

function renderHands() {
  const me = st.self && st.self.id;
  const hs = $('#hand-status');
  hs.dataset.position = String(st.position);
  hs.textContent = st.position > 0 ? `Hand raised: you are #${st.position} in the queue` : 'Your hand is down';
  hs.classList.toggle('raised', st.position > 0);
  $('#hand-count').textContent = st.count === 0 ? 'No hands raised' : st.count === 1 ? '1 hand raised' : `${st.count} hands raised`;
  const hb = $('#hand-btn');
  setToggle(hb, st.position > 0, 'Lower hand', 'Raise hand');
  hb.classList.remove('off');
  hb.insertAdjacentHTML('afterbegin', HAND_SVG);
  // Presenters see the whole queue, ordered as the server orders it.
  const q = [...st.queue.values()].sort((a, b) => a.timeMs - b.timeMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ol = $('#queue');
  ol.replaceChildren(...q.map((h) => { const li = document.createElement('li'); li.textContent = h.name || nameOf(h.id); return li; }));
  for (const [id, t] of st.tiles) t.el.classList.toggle('hand', st.queue.has(id) || (id === me && st.position > 0));
}

// ---- chat ----

$('#chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('#chat-input').value.trim();
  if (!text) return;
  request('chat-send', { clientMsgId: randomID(), text });
  $('#chat-input').value = '';
});

function addChat(m) {
  if (st.chatSeqs.has(m.seq)) return;
  st.chatSeqs.add(m.seq);
  const li = document.createElement('li');
  if (st.self && m.from === st.self.id) li.className = 'mine';
  const who = document.createElement('b');
  who.textContent = m.name || nameOf(m.from);
  const when = document.createElement('time');
  when.textContent = new Date(m.timeMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const text = document.createElement('p');
  text.textContent = m.text;
  li.append(who, when, text);
  const log = $('#chat-log');
  const before = [...log.children].find((c) => Number(c.dataset.seq) > m.seq);
  li.dataset.seq = m.seq;
  log.insertBefore(li, before || null);
  log.scrollTop = log.scrollHeight;
}
