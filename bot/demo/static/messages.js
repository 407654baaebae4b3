// The conversation: messages in their threads, cards drawn by Microsoft's renderer.

import { $, currentSpace, markdown, nameOf, page, send, timeOf } from "./page.js";

export function drawMessages() {
  page.nodes.clear();
  $("messages").replaceChildren();
  for (const message of page.messages.values()) place(message);
  scrollDown();
}

// Draw a new or edited message if it belongs to the space shown.
export function upsert(message) {
  page.messages.set(message.id, message);
  const node = page.nodes.get(message.id);
  if (node) {
    node.querySelector(":scope > .body").replaceWith(bodyOf(message));
  } else {
    place(message);
    scrollDown();
  }
}

export function remove(messageId) {
  page.messages.delete(messageId);
  const node = page.nodes.get(messageId);
  if (node) node.remove();
  page.nodes.delete(messageId);
}

function place(message) {
  if (page.spaceId === null || message.roomId !== currentSpace().id) return;
  const item = document.createElement("li");
  item.className = "message" + (message.personId === page.scene.bot.id ? " from-bot" : "");
  item.dataset.messageId = message.id;
  const header = document.createElement("div");
  header.className = "meta";
  const who = document.createElement("span");
  who.className = "author";
  who.textContent = nameOf(message.personId);
  const when = document.createElement("time");
  when.dateTime = message.created;
  when.textContent = timeOf(message.created);
  header.append(who, when);
  item.append(header, bodyOf(message));
  const parent = message.parentId && page.nodes.get(message.parentId);
  if (parent) {
    let thread = parent.querySelector(":scope > .thread");
    if (!thread) {
      thread = document.createElement("ol");
      thread.className = "thread";
      thread.setAttribute("aria-label", `Replies to ${nameOf(page.messages.get(message.parentId).personId)}`);
      parent.append(thread);
    }
    thread.append(item);
  } else {
    $("messages").append(item);
  }
  page.nodes.set(message.id, item);
}

function bodyOf(message) {
  const body = document.createElement("div");
  body.className = "body";
  if (message.card) {
    body.append(cardOf(message));
    return body;
  }
  const text = message.markdown || message.text || "";
  const botName = page.scene.bot.name;
  if (message.mentionedPeople.includes(page.scene.bot.id) && text.startsWith(botName)) {
    const mention = document.createElement("span");
    mention.className = "mention";
    mention.textContent = botName;
    const rest = document.createElement("span");
    rest.innerHTML = markdown(text.slice(botName.length));
    body.append(mention, rest);
  } else {
    body.innerHTML = markdown(text);
  }
  return body;
}

// A card drawn by Microsoft's renderer; a press goes to Webex (the emulator) as a client's would.
function cardOf(message) {
  const holder = document.createElement("div");
  holder.className = "card";
  const card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = page.hostConfig;
  const status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");
  card.onExecuteAction = (action) => execute(message, action, status);
  try {
    card.parse(message.card);
    const drawn = card.render();
    if (!drawn) throw new Error("the renderer drew nothing");
    holder.append(drawn, status);
  } catch (error) {
    holder.textContent = message.markdown || message.text || `This card cannot be shown: ${error}`;
  }
  return holder;
}

async function execute(message, action, status) {
  const kind = action.getJsonTypeName();
  if (kind === "Action.OpenUrl") {
    window.open(action.url, "_blank", "noopener");
    return;
  }
  if (kind !== "Action.Submit") return;  // Action.ShowCard and toggles are the renderer's own
  status.textContent = "Sending…";
  const reply = await send("POST", "/api/press",
    { person: page.person, messageId: message.id, inputs: action.data || {} });
  status.textContent = reply.ok ? "" : reply.message;
  status.classList.toggle("error", !reply.ok);
}

function scrollDown() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}
