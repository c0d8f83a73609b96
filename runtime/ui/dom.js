// Element helpers. Text from the server only ever enters the page through these, as text
// nodes, never parsed as HTML: a stored value cannot become markup.

/** Creates an element: h("p", {class: "x"}, "text", child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  return append(el, ...children);
}

/** Appends nodes, text, and arrays of them; null, undefined and false are skipped. */
export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/** A status line's text and kind (`ok`, `bad`, `busy`), which the stylesheet colours. */
export function setStatus(el, text, kind) {
  el.textContent = text;
  el.className = `status-line${kind ? ` ${kind}` : ""}`;
}
