"""The /v1 route table: (method, OpenAPI path) → operation."""

from __future__ import annotations

from collections.abc import Callable

from bot.emulator import admin, admin_audit, locations, messaging, oauth, webhooks_api
from bot.emulator.calls import Call, Reply

Operation = Callable[[Call], Reply]


def _message_create(call: Call) -> Reply:
    return Reply(200, messaging.create_message(call.state, call.who, call.body))


def _message_get(call: Call) -> Reply:
    message = messaging.readable_message(call.state, call.who, call.params["messageId"])
    return Reply(200, dict(message))


def _message_edit(call: Call) -> Reply:
    return Reply(
        200, messaging.edit_message(call.state, call.who, call.params["messageId"], call.body)
    )


def _message_delete(call: Call) -> Reply:
    messaging.delete_message(call.state, call.who, call.params["messageId"])
    return Reply(204)


def _message_list(call: Call) -> Reply:
    return Reply(200, {"items": messaging.list_messages(call.state, call.who, call.query)})


def _action_create(call: Call) -> Reply:
    # Webex's OpenAPI text documents 202 Accepted for this operation.
    return Reply(202, messaging.create_action(call.state, call.who, call.body))


def _action_get(call: Call) -> Reply:
    return Reply(200, messaging.get_action(call.state, call.who, call.params["id"]))


def _room_get(call: Call) -> Reply:
    return Reply(200, messaging.get_room(call.state, call.who, call.params["roomId"]))


def _memberships_list(call: Call) -> Reply:
    return Reply(200, {"items": messaging.list_memberships(call.state, call.who, call.query)})


def _membership_create(call: Call) -> Reply:
    return Reply(200, messaging.create_membership(call.state, call.who, call.body))


ROUTES: dict[tuple[str, str], Operation] = {
    ("GET", "/people/me"): admin.people_me,
    ("GET", "/people/{personId}"): admin.people_get,
    ("GET", "/roles"): admin.roles_list,
    ("GET", "/roles/{roleId}"): admin.roles_get,
    ("GET", "/organizations/{orgId}"): admin.organizations_get,
    ("GET", "/rooms/{roomId}"): _room_get,
    ("GET", "/memberships"): _memberships_list,
    ("POST", "/memberships"): _membership_create,
    ("GET", "/messages"): _message_list,
    ("POST", "/messages"): _message_create,
    ("GET", "/messages/{messageId}"): _message_get,
    ("PUT", "/messages/{messageId}"): _message_edit,
    ("DELETE", "/messages/{messageId}"): _message_delete,
    ("POST", "/attachment/actions"): _action_create,
    ("GET", "/attachment/actions/{id}"): _action_get,
    ("GET", "/webhooks"): webhooks_api.webhooks_list,
    ("POST", "/webhooks"): webhooks_api.webhooks_create,
    ("GET", "/webhooks/{webhookId}"): webhooks_api.webhooks_get,
    ("PUT", "/webhooks/{webhookId}"): webhooks_api.webhooks_update,
    ("DELETE", "/webhooks/{webhookId}"): webhooks_api.webhooks_delete,
    ("GET", "/telephony/config/emergencyCallNotification"): admin.ecn_get,
    ("PUT", "/telephony/config/emergencyCallNotification"): admin.ecn_put,
    **locations.ROUTES,
    ("POST", "/access_token"): oauth.access_token,
    ("DELETE", "/authorizations"): oauth.delete_authorization,
    ("GET", "/adminAudit/events"): admin_audit.events_list,
    ("GET", "/adminAudit/eventCategories"): admin_audit.categories_list,
}

# Operations that take no bearer token (OAuth's token endpoint authenticates the client).
PUBLIC = frozenset({("POST", "/access_token")})
