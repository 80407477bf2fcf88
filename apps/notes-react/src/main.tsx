/**
 * The notes app's entry: one client for the page (its relay is the server
 * that served the page), the app under StrictMode, and the service worker
 * that lets the page load without the relay.
 */
import { ConcordProvider } from '@concord/react'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App.js'
import 'prosemirror-view/style/prosemirror.css'
import './styles.css'

const relayUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => {
    console.error('the app will not load offline:', error)
  })
}

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root')
createRoot(root).render(
  <StrictMode>
    <ConcordProvider options={{ url: relayUrl, name: 'concord-notes-react' }}>
      <App />
    </ConcordProvider>
  </StrictMode>,
)
