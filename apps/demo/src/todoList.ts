/**
 * Owns the shared todo list: a `Y.Array` of `Y.Map`s (`text`, `done`) in the
 * document, so adding, checking and removing items merge like the text does.
 */
import * as Y from 'yjs'
import { h } from './element.js'

type Todo = Y.Map<string | boolean>

/** Mounts the todo list of `doc` in `parent`; returns the function that removes it. */
export const mountTodoList = (parent: HTMLElement, doc: Y.Doc): (() => void) => {
  const todos = doc.getArray<Todo>('todos')
  const input = h('input', {
    placeholder: 'Something to do',
    'aria-label': 'New todo',
    'data-testid': 'todo-input',
  }) as HTMLInputElement
  const list = h('ul', { class: 'todos', 'data-testid': 'todo-list' })
  const form = h(
    'form',
    {
      class: 'todo-form',
      onsubmit: (event) => {
        event.preventDefault()
        const text = input.value.trim()
        if (!text) return
        const todo: Todo = new Y.Map()
        todo.set('text', text)
        todo.set('done', false)
        todos.push([todo])
        input.value = ''
      },
    },
    input,
    h('button', { type: 'submit' }, 'Add'),
  )

  const render = (): void => {
    list.replaceChildren(
      ...todos.map((todo, index) => {
        const done = todo.get('done') === true
        return h(
          'li',
          { class: done ? 'done' : undefined, 'data-testid': 'todo' },
          h(
            'label',
            {},
            h('input', { type: 'checkbox', checked: done, onchange: () => todo.set('done', !done) }),
            String(todo.get('text') ?? ''),
          ),
          h(
            'button',
            { class: 'remove', title: 'Remove', 'aria-label': 'Remove', onclick: () => todos.delete(index) },
            '×',
          ),
        )
      }),
    )
    if (todos.length === 0) list.append(h('li', { class: 'hint' }, 'Nothing to do yet.'))
  }

  todos.observeDeep(render)
  render()
  parent.replaceChildren(form, list)
  return () => {
    todos.unobserveDeep(render)
    parent.replaceChildren()
  }
}
