// Records every main-thread long task (> 50 ms, the browser's definition) so
// that Python in the page, or a test, can check none exceeded its budget.
window.sealroomLongTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.sealroomLongTasks.push({ start: entry.startTime, duration: entry.duration });
  }
}).observe({ type: "longtask", buffered: true });
