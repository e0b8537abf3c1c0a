// Uploads: small files in one PUT through the API, large ones straight to
// the object store in parts (S3 multipart with presigned part URLs), parts
// already stored skipped on a retry or after a reload: a dropped
// connection costs at most the parts in flight.
import { api, auth, APIError, sleep } from './api.js';

const MULTIPART_FROM = 8 << 20; // bytes
const PARTS_AT_ONCE = 3;
const TRIES = 6;
const JUNK = /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini|__MACOSX(\/.*)?)$/i;

export function isJunk(path) { return JUNK.test(path); }

function escPath(path) { return path.split('/').map(encodeURIComponent).join('/'); }

function put(url, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { resolve(xhr); return; }
      let p = null;
      try { p = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      reject(new APIError(xhr.status, p));
    };
    xhr.onerror = () => reject(new APIError(0, { detail: 'the connection was lost' }));
    xhr.onabort = () => reject(new APIError(0, { detail: 'the upload was stopped' }));
    xhr.send(body);
  });
}

function transient(e) { return e.status === 0 || e.status >= 500 || e.status === 408 || e.status === 429; }

// Upload is one file's upload. onChange(u) is called as it moves.
export class Upload {
  constructor(caseID, file, path, onChange) {
    this.caseID = caseID; this.file = file; this.path = path; this.onChange = onChange;
    this.sent = 0; this.state = 'waiting'; this.message = ''; this.resumed = 0;
  }

  get key() { return `handoff.upload.${this.caseID}.${this.path}.${this.file.size}.${this.file.lastModified}`; }

  set(state, message) { this.state = state; this.message = message || ''; this.onChange(this); }

  async run() {
    this.set('uploading');
    try {
      if (this.file.size >= MULTIPART_FROM) await this.multipart();
      else await this.single();
      this.sent = this.file.size;
      this.set('uploaded', this.resumed ? `resumed: ${this.resumed} parts were already stored` : '');
    } catch (e) {
      this.set('failed', e.message || String(e));
    }
  }

  async single() {
    const headers = {};
    if (auth.bearer) headers.Authorization = 'Bearer ' + auth.bearer;
    if (auth.csrf) headers['X-CSRF-Token'] = auth.csrf;
    for (let attempt = 1; ; attempt++) {
      try {
        await put(`/v1/cases/${this.caseID}/files/${escPath(this.path)}`, this.file, headers, (n) => { this.sent = n; this.onChange(this); });
        return;
      } catch (e) {
        if (!transient(e) || attempt >= TRIES) throw e;
        this.set('retrying', `${e.message}; trying again (${attempt + 1} of ${TRIES})…`);
        await sleep(1000 * attempt);
        this.state = 'uploading';
      }
    }
  }

  async start() {
    const saved = localStorage.getItem(this.key);
    if (saved) {
      try {
        const u = JSON.parse(saved);
        const got = await api('GET', `/v1/cases/${this.caseID}/multipart?path=${encodeURIComponent(this.path)}&upload_id=${encodeURIComponent(u.upload_id)}`);
        return { u, done: got.parts };
      } catch (e) {
        if (!(e instanceof APIError) || e.status !== 404) throw e;
        localStorage.removeItem(this.key);
      }
    }
    const u = await api('POST', `/v1/cases/${this.caseID}/multipart`, { path: this.path, size: this.file.size, content_type: this.file.type || '' });
    localStorage.setItem(this.key, JSON.stringify(u));
    return { u, done: [] };
  }

  async multipart() {
    const { u, done } = await this.start();
    const stored = new Map(done.map((p) => [p.number, p.size]));
    const size = (n) => Math.min(u.part_size, this.file.size - (n - 1) * u.part_size);
    const inflight = new Map();
    const total = () => { let s = 0; for (const v of stored.values()) s += v; for (const v of inflight.values()) s += v; return s; };
    this.resumed = done.length;
    this.sent = total(); this.onChange(this);
    const todo = [];
    for (let n = 1; n <= u.parts; n++) if (stored.get(n) !== size(n)) todo.push(n);
    let failure = null;
    const worker = async () => {
      while (todo.length && !failure) {
        const n = todo.shift();
        for (let attempt = 1; ; attempt++) {
          try {
            const { urls } = await api('POST', `/v1/cases/${this.caseID}/multipart/parts`, { path: this.path, upload_id: u.upload_id, numbers: [n] });
            const blob = this.file.slice((n - 1) * u.part_size, (n - 1) * u.part_size + size(n));
            await put(urls[0].url, blob, {}, (x) => { inflight.set(n, x); this.sent = total(); this.onChange(this); });
            inflight.delete(n);
            stored.set(n, size(n));
            if (this.state === 'retrying') this.state = 'uploading';
            this.sent = total(); this.onChange(this);
            break;
          } catch (e) {
            inflight.delete(n);
            if (!transient(e) || attempt >= TRIES) { failure = e; return; }
            this.set('retrying', `${e.message}; resuming part ${n} (try ${attempt + 1} of ${TRIES})…`);
            await sleep(1000 * attempt);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_AT_ONCE, todo.length) }, worker));
    if (failure) throw new Error(`${failure.message}. Add the file again to resume where it stopped.`);
    await api('POST', `/v1/cases/${this.caseID}/multipart/complete`, { path: this.path, upload_id: u.upload_id, size: this.file.size });
    localStorage.removeItem(this.key);
  }
}

// filesFromDrop turns a drop's items (files and whole folders) into
// {file, path} with the folders kept in the path.
export async function filesFromDrop(dt) {
  const out = [];
  const entries = [];
  for (const item of dt.items) {
    const e = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (e) entries.push(e);
    else if (item.kind === 'file') { const f = item.getAsFile(); if (f) out.push({ file: f, path: f.name }); }
  }
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, prefix + entry.name + '/');
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out.filter((x) => !isJunk(x.path));
}

export function filesFromInput(input) {
  return Array.from(input.files).map((f) => ({ file: f, path: f.webkitRelativePath || f.name })).filter((x) => !isJunk(x.path));
}

// runAll uploads with a few files at once.
export async function runAll(uploads, atOnce = 3) {
  const queue = uploads.slice();
  await Promise.all(Array.from({ length: Math.min(atOnce, queue.length) }, async () => {
    while (queue.length) await queue.shift().run();
  }));
}
