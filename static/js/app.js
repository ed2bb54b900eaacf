// Page behaviour shared by every screen. No inline scripts: the CSP allows only our own files.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("status-chart-data");
  const canvas = document.getElementById("status-chart");
  if (data && canvas && window.Chart) {
    const chart = JSON.parse(data.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: [{ label: "Vendors", data: chart.values,
          backgroundColor: ["#6c757d", "#e0a800", "#198754", "#0dcaf0", "#dc3545"] }],
      },
      options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } }, maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
});
