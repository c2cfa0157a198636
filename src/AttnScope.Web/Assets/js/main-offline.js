// Entry of the offline page: every viewer root is followed by a script element holding its capture as base64.
import { CaptureData } from './data.js';
import { Viewer, publish } from './viewer.js';

for (const blob of document.querySelectorAll('script.attnscope-data:not([data-done])')) {
  blob.dataset.done = 'true';
  const root = blob.previousElementSibling;
  try {
    // The data is in the page from the start; decoding it counts towards the first paint.
    const arrived = performance.now();
    performance.mark('attnscope:data-arrived');
    const data = CaptureData.fromBundle(blob.textContent);
    // On the page `attnscope html` wrote (not pasted into another), the viewer fills the window, in either theme.
    if (document.body.hasAttribute('data-attnscope-page')) root.classList.add('as-page');
    data.arrived = arrived;
    // The first viewer on the page keeps its state in the address.
    publish(new Viewer(root, data, { url: !(window.attnscope && window.attnscope.viewers.length) }));
  } catch (e) {
    root.textContent = `AttnScope could not open this capture: ${e.message}`;
  }
}
