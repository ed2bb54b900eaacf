// Searchable multi-selects: every <select multiple data-multiselect> becomes a Tom Select (npm package
// tom-select, served by the app). Type to search, arrows and Enter to pick, Backspace to drop the last
// choice. Without the script the plain list box still works. No inline script or style (CSP 'self').
(() => {
  const enhance = (select) => {
    if (select.tomselect || !window.TomSelect) return;
    const control = new window.TomSelect(select, {
      plugins: { remove_button: { title: "Remove" } },
      maxOptions: null,
      refreshThrottle: 0, // filter as each key is typed: Enter right after typing picks what was typed
      hidePlaceholder: true,
      placeholder: select.dataset.placeholder || "",
      closeAfterSelect: false,
      render: {
        no_results: (data, escape) => `<div class="no-results">Nothing matches “${escape(data.input)}”.</div>`,
      },
    });
    // The original list box stays in the form (it carries the values) but is no longer what people use:
    // hidden from assistive technology too, so that its options are not announced twice.
    control.input.setAttribute("aria-hidden", "true");
  };
  const start = () => document.querySelectorAll("select[multiple][data-multiselect]").forEach(enhance);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
