// Direct weights on the evaluation page: the running total of the percentages as the lead types.
// The server decides (100 % within 0.05); this only shows the sum early. No inline script (CSP).
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.weights-direct")) {
    const inputs = form.querySelectorAll("input.weight-input");
    const output = form.querySelector(".weights-total-value");
    const holder = form.querySelector(".weights-total");
    if (!output || !inputs.length) continue;
    const update = () => {
      let total = 0;
      for (const input of inputs) {
        const value = parseFloat(input.value.replace(",", "."));
        if (Number.isFinite(value)) total += value;
      }
      output.textContent = total.toFixed(2);
      const off = Math.abs(total - 100) > 0.05;
      holder.classList.toggle("text-danger", off);
      holder.classList.toggle("text-success", !off);
      holder.dataset.off = off ? "true" : "false";
    };
    form.addEventListener("input", update);
    update();
  }
});
