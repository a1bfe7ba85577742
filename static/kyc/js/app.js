// Progressive enhancements only: every page works without this file. No inline scripts (CSP).
"use strict";

// --- Upload: drag and drop, one kind per file, a progress bar --------------------------------
function setupUpload(form) {
  const input = form.querySelector('input[type="file"]');
  const zone = form.querySelector("[data-dropzone]");
  const rows = form.querySelector("[data-upload-rows]");
  const common = form.querySelector("[data-upload-common]");
  const template = form.querySelector("template[data-upload-row-template]");
  const progress = form.querySelector("progress");
  if (!input || !zone || !rows || !template) return;

  function renderRows() {
    rows.replaceChildren();
    const files = Array.from(input.files);
    rows.hidden = files.length === 0;
    // The shared selects apply to all files only when there are no per-file rows.
    common.querySelectorAll("select, input").forEach((el) => { el.disabled = files.length > 0; });
    common.hidden = files.length > 0;
    files.forEach((file) => {
      const row = template.content.firstElementChild.cloneNode(true);
      row.querySelector("[data-file-name]").textContent = file.name;
      rows.appendChild(row);
    });
  }
  input.addEventListener("change", renderRows);
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      renderRows();
    }
  });
  form.addEventListener("htmx:xhr:progress", (event) => {
    if (!progress || !event.detail.lengthComputable) return;
    progress.hidden = false;
    progress.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  form.addEventListener("htmx:afterRequest", (event) => {
    if (progress) { progress.hidden = true; progress.value = 0; }
    if (event.detail.successful) { form.reset(); renderRows(); }
  });
}

// --- Viewer: zoom and rotate with CSS classes (no inline styles under the CSP) ---------------
function setupViewer(viewer) {
  let zoom = 0;
  let rotation = 0;
  const targets = () => viewer.querySelectorAll("[data-viewer-target]");
  function apply() {
    targets().forEach((el) => {
      el.classList.forEach((name) => {
        if (name.startsWith("zoom-") || name.startsWith("rot-")) el.classList.remove(name);
      });
      el.classList.add(`zoom-${zoom}`, `rot-${rotation}`);
    });
  }
  viewer.addEventListener("click", (event) => {
    const button = event.target.closest("[data-viewer-action]");
    if (!button) return;
    const action = button.dataset.viewerAction;
    if (action === "zoom-in") zoom = Math.min(zoom + 1, 4);
    if (action === "zoom-out") zoom = Math.max(zoom - 1, -2);
    if (action === "rotate") rotation = (rotation + 90) % 360;
    if (action === "reset") { zoom = 0; rotation = 0; }
    apply();
  });
  apply();
}

function init(root) {
  root.querySelectorAll("form.upload").forEach(setupUpload);
  root.querySelectorAll("[data-viewer]").forEach(setupViewer);
}
document.addEventListener("DOMContentLoaded", () => init(document));
