// Shows PDF deliverables in the page with the vendored pdf.js (static/vendor/pdfjs).
// Chrome's built-in viewer does not run for files served under a sandbox CSP, so the
// pages are drawn on canvases instead. Progressive enhancement: without JavaScript,
// or if anything fails, the figure keeps its download link.
const LIBRARY = "/static/vendor/pdfjs/pdf.min.mjs";
const GAP = "0.75rem";
// Wider pages are hard to read and costly to draw; phones use their full width.
const MAX_WIDTH = 860;

let library = null;

async function loadLibrary(workerSrc) {
  if (!library) {
    library = import(LIBRARY).then((pdfjs) => {
      pdfjs.GlobalWorkerOptions.workerSrc = workerSrc;
      return pdfjs;
    });
  }
  return library;
}

function note(container, text) {
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = text;
  container.append(p);
  return p;
}

// One canvas per page, sized up front so the layout does not jump; drawn when near the view.
async function showPages(doc, container) {
  container.style.padding = GAP;
  const width = Math.min(container.clientWidth || MAX_WIDTH, MAX_WIDTH);
  const ratio = window.devicePixelRatio || 1;
  const draw = new Map();
  const observer = "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        const job = draw.get(entry.target);
        if (job) job();
      }
    }, { rootMargin: "400px 0px" })
    : null;
  for (let number = 1; number <= doc.numPages; number++) {
    const page = await doc.getPage(number);
    const scale = (width / page.getViewport({ scale: 1 }).width) * ratio;
    const viewport = page.getViewport({ scale });
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    // CSSOM styles are allowed by the CSP (style attributes in markup are not).
    canvas.style.display = "block";
    canvas.style.width = "100%";
    canvas.style.maxWidth = `${MAX_WIDTH}px`;
    canvas.style.margin = "0 auto";
    canvas.style.height = "auto";
    canvas.style.background = "#fff";
    if (number > 1) canvas.style.marginTop = GAP;
    canvas.style.boxShadow = "0 1px 3px rgba(16, 24, 40, 0.12)";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `Page ${number} of ${doc.numPages}`);
    canvas.setAttribute("data-testid", "pdf-page");
    container.append(canvas);
    draw.set(canvas, () => {
      draw.delete(canvas);
      page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise.then(
        () => canvas.setAttribute("data-rendered", "true"),
        () => canvas.setAttribute("data-rendered", "failed"),
      );
    });
    if (observer) observer.observe(canvas);
    else draw.get(canvas)();
  }
}

async function render(frame) {
  if (frame.dataset.pdfState) return;
  frame.dataset.pdfState = "loading";
  const container = frame.querySelector("[data-pdf-pages]");
  const loading = note(container, "Loading the PDF…");
  try {
    const pdfjs = await loadLibrary(frame.dataset.worker);
    const doc = await pdfjs.getDocument({
      url: frame.dataset.src,
      isEvalSupported: false,
      standardFontDataUrl: frame.dataset.fonts,
    }).promise;
    loading.remove();
    await showPages(doc, container);
    frame.dataset.pdfState = "ready";
  } catch (error) {
    loading.textContent = "This PDF cannot be shown here. Please use the download button.";
    frame.dataset.pdfState = "failed";
  }
}

function scan(root) {
  const scope = root && root.querySelectorAll ? root : document;
  scope.querySelectorAll("[data-pdf-viewer]").forEach(render);
}

scan(document);
// Pages swapped in by htmx get their viewer too.
document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
