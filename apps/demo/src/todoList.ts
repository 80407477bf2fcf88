/**
 * Owns the shared todo list: a `Y.Array` of `Y.Map`s (`text`, `done`) in the
 * document, so adding, checking and removing items merge like the text does.
 * Anyone who may write the document may push anything into the array, so
 * each item is checked for its shape when read: one that is not a `Y.Map`
 * with a string `text` is shown as an item of the wrong shape (which can be
 * removed), never used.
 */
import * as Y from 'yjs'
import { h } from './element.js'
import { neverThrowing } from './observed.js'

type Todo = Y.Map<unknown>

/** The todo `item` stands for, or undefined when it has the wrong shape. */
const todoOf = (item: unknown): { todo: Todo; text: string; done: boolean } | undefined => {
  if (!(item instanceof Y.Map)) return undefined
  const todo = item as Todo
  const text = todo.get('text')
  return typeof text === 'string' ? { todo, text, done: todo.get('done') === true } : undefined
}

/** Mounts the todo list of `doc` in `parent`; returns the function that removes it. */
export const mountTodoList = (parent: HTMLElement, doc: Y.Doc): (() => void) => {
  const todos = doc.getArray<unknown>('todos')
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
        const todo: Todo = new Y.Map<unknown>()
        todo.set('text', text)
        todo.set('done', false)
        todos.push([todo])
        input.value = ''
      },
    },
    input,
    h('button', { type: 'submit' }, 'Add'),
  )

  const render = neverThrowing('the todo list', (): void => {
    list.replaceChildren(
      ...todos.map((item, index) => {
        const remove = h(
          'button',
          { class: 'remove', title: 'Remove', 'aria-label': 'Remove', onclick: () => todos.delete(index) },
          '×',
        )
        const todo = todoOf(item)
        if (!todo) {
          return h(
            'li',
            { class: 'wrong-shape', 'data-testid': 'todo-wrong-shape' },
            h('span', {}, 'An item of the wrong shape, not shown'),
            remove,
          )
        }
        const { done, text } = todo
        return h(
          'li',
          { class: done ? 'done' : undefined, 'data-testid': 'todo' },
          h(
            'label',
            {},
            h('input', { type: 'checkbox', checked: done, onchange: () => todo.todo.set('done', !done) }),
            text,
          ),
          remove,
        )
      }),
    )
    if (todos.length === 0) list.append(h('li', { class: 'hint' }, 'Nothing to do yet.'))
  })

  todos.observeDeep(render)
  render()
  parent.replaceChildren(form, list)
  return () => {
    todos.unobserveDeep(render)
    parent.replaceChildren()
  }
}
