// Parts of the pages both the coordinator and the patient see: the upload
// panel, the files with their progress through the pipeline, the checklist.
import { bytes } from './api.js';
import { h, clear, bilingual, uid } from './dom.js';
import { Upload, filesFromDrop, filesFromInput, runAll } from './upload.js';

// uploadPanel is a drop zone with file (and, for coordinators, folder)
// inputs and a progress bar per file.
export function uploadPanel(caseID, opts = {}) {
  const list = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const rows = new Map();
  const all = [];
  const render = (u) => {
    let row = rows.get(u);
    if (!row) {
      const bar = h('progress', { max: u.file.size || 1, value: 0, 'aria-label': `Upload of ${u.path}` });
      const status = h('span', { class: 'badge' });
      const note = h('div', { class: 'muted' });
      row = { li: h('li', { 'data-path': u.path }, h('div', { class: 'row' }, h('span', { class: 'name' }, u.path), h('span', { class: 'muted' }, bytes(u.file.size)), status), bar, note), bar, status, note };
      rows.set(u, row);
      list.append(row.li);
    }
    row.bar.value = u.sent;
    row.status.textContent = { waiting: 'waiting', uploading: 'uploading', retrying: 'reconnecting', uploaded: 'uploaded', failed: 'failed' }[u.state];
    row.status.className = 'badge ' + ({ uploaded: 'done', failed: 'failed', retrying: 'warning', uploading: 'processing' }[u.state] || '');
    row.li.dataset.state = u.state;
    row.note.textContent = u.message;
    row.note.className = u.state === 'failed' ? 'error-text' : 'muted';
    const sent = all.reduce((s, x) => s + x.sent, 0), size = all.reduce((s, x) => s + x.file.size, 0);
    const done = all.filter((x) => x.state === 'uploaded').length, failed = all.filter((x) => x.state === 'failed').length;
    summary.textContent = `${done} of ${all.length} files uploaded (${bytes(sent)} of ${bytes(size)})` + (failed ? `, ${failed} failed` : '');
  };
  const start = (items) => {
    if (!items.length) return;
    const ups = items.map(({ file, path }) => new Upload(caseID, file, path, render));
    all.push(...ups);
    ups.forEach(render);
    runAll(ups).then(() => opts.onDone && opts.onDone());
  };
  const filesID = uid('files'), folderID = uid('folder');
  const picked = (e) => { start(filesFromInput(e.target)); e.target.value = ''; };
  // A patient's phone: the camera (capture), or photos and PDFs already on it.
  const fileInput = h('input', { type: 'file', id: filesID, class: 'file-input', multiple: true,
    accept: opts.patient ? 'image/*,application/pdf' : null, capture: opts.patient ? 'environment' : null, onchange: picked });
  const secondInput = opts.patient
    ? h('input', { type: 'file', id: folderID, class: 'file-input', multiple: true, accept: 'image/*,application/pdf', onchange: picked })
    : h('input', { type: 'file', id: folderID, class: 'file-input', webkitdirectory: true, multiple: true, onchange: picked });
  const drop = h('div', { class: 'drop', 'data-testid': 'drop' },
    h('p', {}, opts.patient ? 'Take a photo of each record, or choose photos and PDFs already on your phone.' : 'Drop files or whole folders here (an imaging CD copied from disk), or choose them.'),
    h('div', { class: 'row' },
      h('label', { for: filesID, class: 'button' }, opts.patient ? 'Take a photo' : 'Choose files'), fileInput,
      h('label', { for: folderID, class: 'button secondary' }, opts.patient ? 'Choose photos or PDFs' : 'Choose a folder'), secondInput));
  // The labels act as the buttons: Enter and Space open the picker.
  for (const l of drop.querySelectorAll('label.button')) {
    l.tabIndex = 0;
    l.setAttribute('role', 'button');
    l.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); l.click(); } });
  }
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    start(await filesFromDrop(e.dataTransfer));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, opts.patient ? 'Add your records' : 'Upload files'),
    drop, summary, list);
}

const stageNames = { sniff: 'checking the type', archive: 'unpacking', dicom: 'reading the scan', ocr: 'reading the text (OCR)', understand: 'sorting', text: 'reading' };

// fileStatus says in plain words where a file is in the pipeline.
export function fileStatus(f) {
  if (f.status === 'failed') return (f.error && f.error.message) || 'could not be used';
  if (f.status === 'skipped') return 'not needed';
  if (f.progress && f.progress.total) return `${stageNames[f.stage] || f.stage}: ${f.progress.done} of ${f.progress.total} ${f.progress.unit}`;
  const pages = f.pages ? `${f.pages} page${f.pages > 1 ? 's' : ''}` + (f.ocr_pages ? `, ${f.ocr_pages} read by OCR` : '') : '';
  if (f.status === 'done') return pages || 'done';
  return stageNames[f.stage] || f.status;
}

// fileTable lists files (a Map of id → file view) with their status.
export function fileTable(files, caseID, opts = {}) {
  const sorted = [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
  if (!sorted.length) return h('p', { class: 'muted' }, 'No files yet.');
  const done = sorted.filter((f) => ['done', 'failed', 'skipped'].includes(f.status)).length;
  return h('div', {},
    h('p', { class: 'muted' }, `${done} of ${sorted.length} files processed`),
    h('div', { class: 'table-wrap' }, h('table', { class: 'filelist' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Details'))),
      h('tbody', {}, sorted.map((f) => h('tr', { 'data-file': f.path, 'data-status': f.status },
        h('td', { class: 'path' }, opts.download ? h('a', { href: `/v1/cases/${caseID}/files/${f.id}` }, f.path) : f.path,
          h('div', { class: 'muted' }, bytes(f.size), f.category ? ' · ' + f.category.replace(/_/g, ' ') : '')),
        h('td', {}, h('span', { class: 'badge ' + f.status }, f.status)),
        h('td', { class: 'hide-narrow' }, fileStatus(f))))))));
}

// checklist shows the seven parts and the findings, in plain words with
// Chinese labels.
export function checklist(rep, L, opts = {}) {
  if (!rep) return h('p', { class: 'muted' }, 'The checklist appears after the first file is processed.');
  const sev = { error: 'error', warning: 'warning', info: 'ok' };
  const parts = rep.parts || [];
  const findings = (rep.findings || []);
  const missing = parts.filter((p) => p.status === 'missing');
  return h('div', { 'data-testid': 'checklist' },
    rep.pending ? h('p', { class: 'notice' }, `${rep.pending} file(s) are still being processed; the checklist will update.`) : null,
    opts.patient ? h('p', {}, missing.length ? `Still missing: ${missing.map((p) => (L.parts[p.part] || {}).en || p.title).join(', ')}.` : 'Every part of the file is there.') : null,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, bilingual(L.fields.part, 'Part')), h('th', { scope: 'col' }, bilingual(L.fields.status, 'Status')))),
      h('tbody', {}, parts.map((p) => h('tr', { 'data-part': p.part, 'data-status': p.status },
        h('td', {}, bilingual(L.parts[p.part], p.title)),
        h('td', {}, h('span', { class: 'badge ' + p.status }, bilingual(L.statuses[p.status], p.status)))))))),
    h('h3', {}, bilingual(L.fields.findings, 'Open findings')),
    findings.length ? h('ul', { class: 'findings' }, findings.map((f) => h('li', { 'data-code': f.code },
      h('span', { class: 'badge ' + (sev[f.severity] || '') }, bilingual(L.severities[f.severity], f.severity)), ' ', f.message,
      L.findings[f.code] ? h('div', { class: 'zh', lang: 'zh' }, L.findings[f.code].zh) : null)))
      : h('p', {}, 'Nothing is missing or wrong.'));
}

function table(caption, cols, rows) {
  if (!rows || !rows.length) return null;
  return h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c[0])))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, c[1](r))))))));
}

// factsView shows what was read from the documents.
export function factsView(facts, L) {
  if (!facts) return h('p', { class: 'muted' }, 'Nothing has been read from the documents yet.');
  const v = (x) => x || '';
  const parts = [
    table('Medications', [['Medication', (m) => [m.name, m.anticoagulant ? [' ', h('span', { class: 'badge error' }, 'blood thinner')] : null]], ['Dose', (m) => v(m.dose)], ['How often', (m) => v(m.frequency)], ['Since', (m) => v(m.duration || m.start)]], facts.medications),
    table('Labs', [['Test', (l) => l.name], ['Result', (l) => `${l.value} ${v(l.unit)}`], ['Flag', (l) => v(l.flag)], ['Date', (l) => v(l.date)]], facts.labs),
    table('Problems', [['Condition', (p) => p.name], ['Status', (p) => v(p.status)]], facts.problems),
    table('Allergies', [['Substance', (a) => a.name], ['Reaction', (a) => v(a.reaction)]], facts.allergies),
    table('Procedures', [['Procedure', (p) => p.name], ['Date', (p) => v(p.date)]], facts.procedures),
    table('Vitals', [['Measure', (p) => p.name], ['Value', (p) => `${p.value} ${v(p.unit)}`], ['Date', (p) => v(p.date)]], facts.vitals),
  ].filter(Boolean);
  return parts.length ? h('div', {}, parts) : h('p', { class: 'muted' }, 'No medications, labs or problems were read from the documents.');
}

export { clear };
