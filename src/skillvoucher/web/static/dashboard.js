// The statistics dashboard's charts, drawn with Apache ECharts (served by the app).
// Each chart's data sits in a <script type="application/json"> block named by its container's
// data-chart attribute (the Content-Security-Policy allows no inline scripts). Amounts arrive in
// integer fen and are shown in yuan. Every chart has a data table next to it for screen readers.
"use strict";

(function () {
  const PALETTE = ["#0b5cad", "#d9822b", "#2e8540", "#8e44ad", "#b00020", "#5a6b7b"];
  const lang = document.documentElement.lang || "zh-CN";
  const yuanFormat = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const countFormat = new Intl.NumberFormat(lang);

  function shown(value, money) {
    return money ? "¥" + yuanFormat.format(value / 100) : countFormat.format(value);
  }

  function optionFor(data, narrow) {
    const many = data.categories.length > (narrow ? 3 : 6);
    return {
      color: PALETTE,
      animation: false,
      aria: { enabled: true },
      tooltip: {
        trigger: "axis",
        valueFormatter: (value) => shown(value, data.money),
      },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: data.categories,
        axisLabel: {
          interval: 0,
          rotate: many ? 35 : 0,
          width: narrow ? 70 : 110,
          overflow: "truncate",
        },
      },
      yAxis: {
        type: "value",
        minInterval: data.money ? 0 : 1,
        axisLabel: {
          formatter: (value) => (data.money ? yuanFormat.format(value / 100) : countFormat.format(value)),
        },
      },
      series: data.series.map((series) => ({
        name: series.name,
        // A line needs a few months to say anything; until then bars read better.
        type: data.kind === "line" && data.categories.length > 2 ? "line" : "bar",
        data: series.values,
        barMaxWidth: 28,
      })),
    };
  }

  function draw(root) {
    if (typeof window.echarts === "undefined") {
      return;
    }
    root.querySelectorAll("[data-chart]").forEach((element) => {
      const source = document.getElementById(element.dataset.chart);
      if (!source) {
        return;
      }
      const data = JSON.parse(source.textContent);
      const existing = window.echarts.getInstanceByDom(element);
      if (existing) {
        existing.dispose();
      }
      const chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(optionFor(data, element.clientWidth < 480));
    });
  }

  function resizeAll() {
    document.querySelectorAll("[data-chart]").forEach((element) => {
      const chart = window.echarts && window.echarts.getInstanceByDom(element);
      if (chart) {
        chart.resize();
      }
    });
  }

  // htmx (with script tags off) drops every <script> of a swapped fragment, the chart data
  // blocks too: keep them from the response before the swap and put them back after it.
  let kept = [];

  function keepDataBlocks(event) {
    const parsed = new DOMParser().parseFromString(event.detail.serverResponse || "", "text/html");
    kept = [...parsed.querySelectorAll('script[type="application/json"]')].map((block) => ({
      id: block.id,
      text: block.textContent,
    }));
  }

  function restoreDataBlocks(root) {
    kept.forEach(({ id, text }) => {
      if (document.getElementById(id)) {
        return;
      }
      const container = root.querySelector('[data-chart="' + CSS.escape(id) + '"]');
      if (container) {
        const block = document.createElement("script");
        block.type = "application/json";
        block.id = id;
        block.textContent = text;
        container.before(block);
      }
    });
    kept = [];
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:beforeSwap", keepDataBlocks);
  // htmx replaced the dashboard's body after the filters changed.
  document.addEventListener("htmx:afterSwap", (event) => {
    restoreDataBlocks(event.target);
    draw(event.target);
  });
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(resizeAll, 150);
  });
})();
