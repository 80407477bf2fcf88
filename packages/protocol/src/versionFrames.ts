/**
 * Owns the bodies of the version-history frames that `concord.v3` adds to the native mode: a
 * client's `request` (save, list, load or restore a version of a document), the relay's `answer`
 * to it (the versions it concerns, and a version's state) and its `failed` (a close code, a stable
 * error name and a message). The byte layout is in README.md; native.ts frames them.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ProtocolError } from './errors.js'
import { readBoundedVarUint, readSafeVarUint } from './strictDecoding.js'

/** The types a restore may be told a top-level type has, by number on the wire. */
export const versionRootKinds = ['text', 'map', 'array', 'xml'] as const
export type VersionRootKind = (typeof versionRootKinds)[number]

export const versionOperation = { saveVersion: 0, listVersions: 1, loadVersion: 2, restoreVersion: 3 } as const

export type VersionRequest =
  | { readonly op: 'saveVersion'; readonly label: string }
  /** Newest first; `before` is the id of the last version of the previous page. */
  | { readonly op: 'listVersions'; readonly before?: string | undefined; readonly limit: number }
  | { readonly op: 'loadVersion'; readonly version: string }
  | {
      readonly op: 'restoreVersion'
      readonly version: string
      /** The types of top-level types whose content may not tell, as `?types=` over HTTP. */
      readonly kinds: readonly { readonly root: string; readonly kind: VersionRootKind }[]
    }

/** What the relay tells of a version; `createdAt` is milliseconds since the epoch. */
export interface WireVersion {
  readonly id: string
  readonly createdAt: number
  readonly label?: string | undefined
  readonly authors: readonly string[]
  readonly restoredFrom?: string | undefined
  readonly bytes: number
}

const writeOptionalString = (encoder: encoding.Encoder, value: string | undefined): void => {
  encoding.writeVarUint(encoder, value === undefined ? 0 : 1)
  if (value !== undefined) encoding.writeVarString(encoder, value)
}

const readOptionalString = (decoder: decoding.Decoder, what: string): string | undefined =>
  readBoundedVarUint(decoder, 1, `${what} flag`) === 1 ? decoding.readVarString(decoder) : undefined

export const writeVersionRequest = (encoder: encoding.Encoder, request: VersionRequest): void => {
  encoding.writeVarUint(encoder, versionOperation[request.op])
  switch (request.op) {
    case 'saveVersion':
      encoding.writeVarString(encoder, request.label)
      break
    case 'listVersions':
      writeOptionalString(encoder, request.before)
      encoding.writeVarUint(encoder, request.limit)
      break
    case 'loadVersion':
      encoding.writeVarString(encoder, request.version)
      break
    case 'restoreVersion':
      encoding.writeVarString(encoder, request.version)
      encoding.writeVarUint(encoder, request.kinds.length)
      for (const { root, kind } of request.kinds) {
        encoding.writeVarString(encoder, root)
        encoding.writeVarUint(encoder, versionRootKinds.indexOf(kind))
      }
      break
  }
}

/** Strict, as every decoder here: an unknown operation or root kind is `malformedMessage`. */
export const readVersionRequest = (decoder: decoding.Decoder): VersionRequest => {
  const op = readBoundedVarUint(decoder, versionOperation.restoreVersion, 'version operation')
  switch (op) {
    case versionOperation.saveVersion:
      return { op: 'saveVersion', label: decoding.readVarString(decoder) }
    case versionOperation.listVersions: {
      const before = readOptionalString(decoder, 'before')
      return { op: 'listVersions', before, limit: readSafeVarUint(decoder, 'limit') }
    }
    case versionOperation.loadVersion:
      return { op: 'loadVersion', version: decoding.readVarString(decoder) }
    default: {
      const version = decoding.readVarString(decoder)
      const count = readSafeVarUint(decoder, 'root kind count')
      const kinds: { root: string; kind: VersionRootKind }[] = []
      // Each entry takes at least two bytes, so a huge count ends in truncation, not a long loop.
      if (count > decoder.arr.length) {
        throw new ProtocolError('malformedMessage', 'more root kinds than the frame has bytes')
      }
      for (let i = 0; i < count; i++) {
        const root = decoding.readVarString(decoder)
        const kind = versionRootKinds[readBoundedVarUint(decoder, versionRootKinds.length - 1, 'root kind')]!
        kinds.push({ root, kind })
      }
      return { op: 'restoreVersion', version, kinds }
    }
  }
}

export const writeVersions = (encoder: encoding.Encoder, versions: readonly WireVersion[]): void => {
  encoding.writeVarUint(encoder, versions.length)
  for (const version of versions) {
    encoding.writeVarString(encoder, version.id)
    encoding.writeVarUint(encoder, version.createdAt)
    writeOptionalString(encoder, version.label)
    encoding.writeVarUint(encoder, version.authors.length)
    for (const author of version.authors) encoding.writeVarString(encoder, author)
    writeOptionalString(encoder, version.restoredFrom)
    encoding.writeVarUint(encoder, version.bytes)
  }
}

export const readVersions = (decoder: decoding.Decoder): WireVersion[] => {
  const count = readSafeVarUint(decoder, 'version count')
  if (count > decoder.arr.length) throw new ProtocolError('malformedMessage', 'more versions than the frame has bytes')
  const versions: WireVersion[] = []
  for (let i = 0; i < count; i++) {
    const id = decoding.readVarString(decoder)
    const createdAt = readSafeVarUint(decoder, 'createdAt')
    const label = readOptionalString(decoder, 'label')
    const authorCount = readSafeVarUint(decoder, 'author count')
    if (authorCount > decoder.arr.length) {
      throw new ProtocolError('malformedMessage', 'more authors than the frame has bytes')
    }
    const authors: string[] = []
    for (let j = 0; j < authorCount; j++) authors.push(decoding.readVarString(decoder))
    const restoredFrom = readOptionalString(decoder, 'restoredFrom')
    const bytes = readSafeVarUint(decoder, 'bytes')
    versions.push({
      id,
      createdAt,
      authors,
      bytes,
      ...(label !== undefined && { label }),
      ...(restoredFrom !== undefined && { restoredFrom }),
    })
  }
  return versions
}
