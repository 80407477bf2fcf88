/** Builds DOM elements in one expression, so each view reads as its markup. */
type Props = Record<string, string | boolean | number | ((event: Event) => void) | undefined>

export const h = (tag: string, props: Props = {}, ...children: Array<Node | string>): HTMLElement => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value)
    else if (name in element && !name.includes('-')) Object.assign(element, { [name]: value })
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  element.append(...children)
  return element
}
