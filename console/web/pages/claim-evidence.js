// The Evidence section of a claim: what was added, image previews, and
// uploads by drag and drop or a file input. Files need the Bearer token, so
// previews are fetched and shown through blob: URLs (allowed by the CSP's
// img-src), never by pointing <img> at the protected URL.

import { h } from '../lib/dom.js';
import { download, fetchBlob, gqlUpload } from '../lib/api.js';
import { when, words } from '../lib/format.js';
import { CAN, hasAny, roleList } from '../lib/roles.js';
import { alertArea, field, select, statusRegion } from '../lib/ui.js';

const ADD = `mutation AddEvidence($claimId: ID!, $input: EvidenceInput!) {
  addClaimEvidence(claimId: $claimId, input: $input) { id version }
}`;

const KINDS = ['SCREENSHOT', 'ERROR_MESSAGE', 'LOG', 'OTHER'];

function guessKind(file) {
  if (file.type.startsWith('image/')) return 'SCREENSHOT';
  if (file.type.startsWith('text/')) return 'LOG';
  return 'OTHER';
}

function size(bytes) {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/**
 * Builds the section. `onAdded()` reloads the claim after an upload.
 * Returns {el, dispose} — dispose lets go of the preview blob: URLs.
 */
export function evidenceSection(claim, me, { canAdd, onAdded }) {
  const urls = [];
  const alerts = alertArea();
  const status = statusRegion('upload-status');
  const mayView = hasAny(me, CAN.viewEvidenceFiles);

  function preview(file, holder) {
    fetchBlob(file.downloadUrl)
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        urls.push(url);
        holder.replaceChildren(h('img', { src: url, alt: file.fileName, class: 'evidence-image' }));
      })
      .catch(() => holder.replaceChildren(h('p', null, `The preview of ${file.fileName} could not be loaded.`)));
  }

  function item(e) {
    const parts = [
      h('p', { class: 'meta' }, `${words(e.kind)}, added ${when(e.addedAt)}${e.addedBy ? ` by ${e.addedBy.name}` : ''}`),
    ];
    if (e.text) parts.push(h('p', { class: 'evidence-text' }, e.text));
    // Only web links become links: a javascript: URL from a customer must stay text.
    if (e.url) parts.push(h('p', null, 'Link: ', /^https?:\/\//i.test(e.url) ? h('a', { href: e.url, rel: 'noopener noreferrer', target: '_blank' }, e.url) : e.url));
    const f = e.file;
    if (f && !mayView) {
      parts.push(h('p', null, `File ${f.fileName} (${size(f.size)}); files are shown to ${roleList(CAN.viewEvidenceFiles)}.`));
    } else if (f) {
      if (f.contentType.startsWith('image/')) {
        const holder = h('div', { class: 'evidence-preview' }, h('p', null, `Loading ${f.fileName}…`));
        preview(f, holder);
        parts.push(holder);
      }
      const save = h('button', { type: 'button' }, `Download ${f.fileName}`);
      save.addEventListener('click', () => download(f.downloadUrl, f.fileName).catch((err) => alerts.show(err)));
      parts.push(h('p', null, `${f.contentType}, ${size(f.size)} `, save));
    }
    return h('li', { class: 'evidence-item' }, parts);
  }

  const list = claim.evidence.length
    ? h('ul', { class: 'evidence-list' }, claim.evidence.map(item))
    : h('p', null, 'No evidence yet.');

  let upload = null;
  if (canAdd) {
    const kind = select('kind', [['', 'Guess from the file'], ...KINDS]);
    const input = h('input', { type: 'file', name: 'file', multiple: true, accept: 'image/png,image/jpeg,image/webp,image/gif,application/pdf,text/plain' });
    const send = async (files) => {
      alerts.clear();
      for (const file of files) {
        status.announce(`Uploading ${file.name}…`);
        try {
          await gqlUpload(ADD, { claimId: claim.id, input: { kind: kind.value || guessKind(file) } }, file);
          status.announce(`${file.name} added.`);
        } catch (err) {
          status.announce('');
          alerts.show(err);
          return;
        }
      }
      onAdded();
    };
    input.addEventListener('change', () => {
      if (input.files.length) send([...input.files]);
    });
    upload = h(
      'div',
      { class: 'drop-zone' },
      h('p', null, 'Drop screenshots, logs or PDFs here, or choose files. PNG, JPEG, WebP, GIF, PDF or text, up to 10 MB.'),
      field('Kind of evidence', kind),
      field('Add evidence file', input),
      status.el,
    );
    upload.addEventListener('dragover', (event) => {
      event.preventDefault();
      upload.classList.add('dragging');
    });
    upload.addEventListener('dragleave', () => upload.classList.remove('dragging'));
    upload.addEventListener('drop', (event) => {
      event.preventDefault();
      upload.classList.remove('dragging');
      if (event.dataTransfer.files.length) send([...event.dataTransfer.files]);
    });
  }

  const el = h('section', { 'aria-labelledby': 'evidence-h' }, h('h2', { id: 'evidence-h' }, 'Evidence'), list, upload, alerts.el);
  return { el, dispose: () => urls.forEach((u) => URL.revokeObjectURL(u)) };
}
