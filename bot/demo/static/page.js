// What every part of the console's page shares: its state, who is who, text, requests.

export const page = {
  scene: null,          // people, spaces, the setting, the locations (the "scene" event)
  messages: new Map(),  // id → message, every space
  nodes: new Map(),     // id → the <li> drawn for it in the current space
  person: "alice",
  spaceId: undefined,   // null: the person's 1:1 with the bot does not exist yet
  hostConfig: null,
  controlHubTouched: false,
  ready: false,         // the stream has sent what exists; what follows is news
  unread: new Set(),    // spaces with news the person has not looked at
};
export const $ = (id) => document.getElementById(id);

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// The markdown Webex draws in messages and TextBlocks: bold, italic, code, links, line breaks.
// The text is escaped first, so nothing in it becomes markup of its own.
export function markdown(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[\s(])[*_](?!\s)(.+?)[*_](?=$|[\s).,!?:;])/g, "$1<em>$2</em>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g,
      '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>')
    .replace(/\n/g, "<br>");
}

export function timeOf(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function onOff(value) { return value ? "On" : "Off"; }

export function me() { return page.scene.people.find((p) => p.name === page.person); }

export function nameOf(personId) {
  if (personId === page.scene.bot.id) return page.scene.bot.name;
  const person = page.scene.people.find((p) => p.id === personId);
  return person ? person.displayName : personId;
}

export function spacesOf(person) {
  const mine = page.scene.spaces.filter((s) => s.members.includes(person.id));
  const withBot = mine.some((s) => s.type === "direct" && s.members.includes(page.scene.bot.id));
  const shown = mine.map((s) => ({
    ...s, title: s.type === "direct" ? nameOf(s.members.find((m) => m !== person.id)) : s.title,
  }));
  if (!withBot) shown.unshift({ id: null, title: page.scene.bot.name, type: "direct", members: [] });
  return shown.sort((a, b) => (a.type === b.type ? 0 : a.type === "direct" ? -1 : 1));
}

export function currentSpace() {
  const spaces = spacesOf(me());
  return spaces.find((s) => s.id === page.spaceId) || spaces[0];
}

export async function send(method, path, body) {
  try {
    const response = await fetch(path, {
      method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data, message: data.message || `${response.status} ${response.statusText}` };
  } catch (error) {
    return { ok: false, data: {}, message: `The console cannot be reached (${error.message}).` };
  }
}
