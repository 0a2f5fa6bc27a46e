// The console works without this file; it only adds "select all" to checkbox lists.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  for (const other of document.querySelectorAll(`input[name="${box.dataset.selectAll}"]:not(:disabled)`)) {
    other.checked = box.checked;
  }
});
