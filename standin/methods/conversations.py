"""The Web API's conversations methods: channels, their members, history and threads."""

from __future__ import annotations

from standin.calls import Args, Failure, ts_arg
from standin.shapes import Shapes
from standin.state import (
    JSON,
    TOPIC_MAX,
    ChannelState,
    channel_name_error,
)


class ConversationsMethods(Shapes):
    """The conversations methods."""

    def _conversations_create(self, args: Args) -> JSON:
        name = args.text("name")
        error = channel_name_error(name)
        if error is not None:
            raise Failure(error)
        if any(channel.name == name for channel in self.channels.values() if not channel.is_im):
            raise Failure("name_taken")
        channel = ChannelState(
            id=self._new_id("C"),
            name=name,
            is_private=args.flag("is_private"),
            created=int(self._clock()),
            creator=self.bot_user_id,
            members=[self.bot_user_id],
        )
        self.channels[channel.id] = channel
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_invite(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_im:
            raise Failure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise Failure("is_archived")
        if self.bot_user_id not in channel.members:
            raise Failure("not_in_channel")
        user_ids = [user_id.strip() for user_id in args.text("users").split(",") if user_id.strip()]
        if not user_ids:
            raise Failure("no_user")
        if len(user_ids) > 1000:
            raise Failure("too_many_users")
        errors = []
        for user_id in user_ids:
            if user_id == self.bot_user_id:
                errors.append({"user": user_id, "ok": False, "error": "cant_invite_self"})
            elif user_id not in self.users:
                errors.append({"user": user_id, "ok": False, "error": "user_not_found"})
        if errors and not args.flag("force"):
            raise Failure(str(errors[0]["error"]), errors=errors)
        bad = {str(error["user"]) for error in errors}
        newcomers = [user_id for user_id in user_ids if user_id not in bad and user_id not in channel.members]
        if not newcomers and not errors:
            raise Failure(
                "already_in_channel",
                errors=[
                    {"user": user_id, "ok": False, "error": "already_in_channel"} for user_id in user_ids
                ],
            )
        channel.members.extend(dict.fromkeys(newcomers))
        body: JSON = {"ok": True, "channel": self._channel_object(channel)}
        if errors:
            body["errors"] = errors
        return body

    def _conversations_join(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_private or channel.is_im:
            raise Failure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise Failure("is_archived")
        body: JSON = {"ok": True}
        if self.bot_user_id in channel.members:
            body.update(warning="already_in_channel", response_metadata={"warnings": ["already_in_channel"]})
        else:
            channel.members.append(self.bot_user_id)
        body["channel"] = self._channel_object(channel)
        return body

    def _set_channel_text(self, args: Args, attribute: str) -> JSON:
        channel = self._joined(args.text("channel"))
        if channel.is_im:
            raise Failure("method_not_supported_for_channel_type")
        value = args.text(attribute)
        if len(value) > TOPIC_MAX:
            raise Failure("too_long")
        setattr(channel, attribute, value)
        setattr(channel, f"{attribute}_set", (self.bot_user_id, int(self._clock())))
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_set_topic(self, args: Args) -> JSON:
        return self._set_channel_text(args, "topic")

    def _conversations_set_purpose(self, args: Args) -> JSON:
        return self._set_channel_text(args, "purpose")

    def _conversations_info(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        return {
            "ok": True,
            "channel": self._channel_object(channel, num_members=args.flag("include_num_members")),
        }

    def _conversations_list(self, args: Args) -> JSON:
        types = {t.strip() for t in args.text("types", "public_channel").split(",") if t.strip()}
        wanted = [
            channel
            for channel in self.channels.values()
            if not channel.is_im
            and ("private_channel" if channel.is_private else "public_channel") in types
            and (not channel.is_private or self.bot_user_id in channel.members)
            and not (args.flag("exclude_archived") and channel.is_archived)
        ]
        page, cursor = self._page(wanted, args)
        return {
            "ok": True,
            "channels": [self._channel_object(channel) for channel in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_members(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        members, cursor = self._page(channel.members, args)
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": cursor}}

    def _conversations_archive(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_im:
            raise Failure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise Failure("already_archived")
        channel.is_archived = True
        return {"ok": True}

    def _conversations_history(self, args: Args) -> JSON:
        channel = self._joined(args.text("channel"), writable=False)
        inclusive = args.flag("inclusive")
        oldest = ts_arg(args, "oldest", "invalid_ts_oldest")
        latest = ts_arg(args, "latest", "invalid_ts_latest")
        messages = [
            message
            for message in reversed(channel.top_level())
            if _within(float(message["ts"]), oldest, latest, inclusive=inclusive)
        ]
        page, cursor = self._page(messages, args)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "pin_count": len(channel.pins),
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, args: Args) -> JSON:
        channel = self._joined(args.text("channel"), writable=False)
        parent = channel.message(args.text("ts"))
        if parent is None:
            raise Failure("thread_not_found")
        thread_ts = parent.get("thread_ts", parent["ts"])
        thread = [m for m in channel.messages if m is parent or (m.get("thread_ts") == thread_ts)]
        page, cursor = self._page(thread, args, default_limit=1000)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }


def _within(ts: float, oldest: float | None, latest: float | None, *, inclusive: bool) -> bool:
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))
