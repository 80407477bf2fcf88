/**
 * Owns what a note may contain: the nodes of prosemirror-schema-basic
 * without images (paragraphs, headings, quotes, code blocks, rules, breaks)
 * and three marks without attributes (bold, italic, code). Other writers
 * send whatever they like; content outside this schema is dropped by
 * y-prosemirror rather than rendered, and with no link or image there is no
 * URL from another writer in the page.
 */
import { Schema } from 'prosemirror-model'
import { marks, nodes } from 'prosemirror-schema-basic'

export const noteSchema = new Schema({
  nodes: {
    doc: nodes.doc,
    paragraph: nodes.paragraph,
    blockquote: nodes.blockquote,
    horizontal_rule: nodes.horizontal_rule,
    heading: nodes.heading,
    code_block: nodes.code_block,
    text: nodes.text,
    hard_break: nodes.hard_break,
  },
  marks: { strong: marks.strong, em: marks.em, code: marks.code },
})
