"""The Web API's chat methods (post, update, delete, schedule), pins and reactions."""

from __future__ import annotations

from standin.calls import Args, Failure
from standin.shapes import Shapes
from standin.state import (
    JSON,
    SCHEDULE_HORIZON_SECONDS,
    SCHEDULE_WINDOW_MAX,
    SCHEDULE_WINDOW_SECONDS,
    ChannelState,
    ScheduledMessage,
)


class ChatMethods(Shapes):
    """The chat methods."""

    def _chat_post_message(self, args: Args) -> JSON:
        channel = self._message_channel(args.text("channel"))
        channel = self._joined(channel.id)
        text, blocks, attachments = self._message_content(args)
        message = self._bot_message(text=text, blocks=blocks)
        if attachments is not None:
            message["attachments"] = attachments
        if args.has("metadata"):
            message["metadata"] = args.decoded("metadata")
        thread_ts = args.optional("thread_ts")
        if thread_ts:
            parent = channel.message(thread_ts)
            if parent is None:
                raise Failure("invalid_thread_ts")
            message["thread_ts"] = parent.get("thread_ts", parent["ts"])
            if args.flag("reply_broadcast"):
                message["subtype"] = "thread_broadcast"
        self._append(channel, message)
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_archived:
            raise Failure("is_archived")
        user_id = args.text("user")
        if user_id not in channel.members:
            raise Failure("user_not_in_channel")
        text, blocks, attachments = self._message_content(args)
        message_ts = self._next_ts()
        self.ephemeral.setdefault(user_id, []).append(
            {
                "channel": channel.id,
                "user": user_id,
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "thread_ts": args.optional("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _chat_update(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("ts"))
        if message.get("user") != self.bot_user_id:
            raise Failure("cant_update_message")
        text, blocks, attachments = self._message_content(args)
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = attachments
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "text": text, "message": message}

    def _chat_delete(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("ts"))
        if message.get("user") != self.bot_user_id:
            raise Failure("cant_delete_message")
        channel.messages.remove(message)
        if message["ts"] in channel.pins:
            channel.pins.remove(message["ts"])
        return {"ok": True, "channel": channel.id, "ts": message["ts"]}

    def _chat_get_permalink(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("message_ts"))
        return {"ok": True, "channel": channel.id, "permalink": self._permalink(channel.id, message)}

    def _chat_schedule_message(self, args: Args) -> JSON:
        post_at = args.integer("post_at", "invalid_time")
        assert post_at is not None  # required, checked before the handler runs
        now = self._clock()
        if post_at <= now:
            raise Failure("time_in_past")
        if post_at > now + SCHEDULE_HORIZON_SECONDS:
            raise Failure("time_too_far")
        channel = self._joined(self._message_channel(args.text("channel")).id)
        text, blocks, _ = self._message_content(args)
        if self._scheduled_window_full(channel.id, post_at):
            raise Failure("restricted_too_many")
        scheduled = ScheduledMessage(
            id=self._new_id("Q"),
            channel_id=channel.id,
            post_at=post_at,
            date_created=int(now),
            text=text,
            blocks=blocks,
            thread_ts=args.optional("thread_ts"),
        )
        self.scheduled[scheduled.id] = scheduled
        message: JSON = {
            "type": "delayed_message",
            "text": text,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "bot_profile": self._bot_profile(),
        }
        if blocks is not None:
            message["blocks"] = blocks
        return {
            "ok": True,
            "channel": channel.id,
            "scheduled_message_id": scheduled.id,
            "post_at": post_at,
            "message": message,
        }

    def _scheduled_window_full(self, channel_id: str, post_at: int) -> bool:
        """Whether a 5-minute window holding `post_at` already holds Slack's 30 messages for the channel."""
        due = sorted(
            s.post_at
            for s in self.scheduled.values()
            if s.channel_id == channel_id and abs(s.post_at - post_at) < SCHEDULE_WINDOW_SECONDS
        )
        # A window [start, start + 5 min) holding post_at starts at post_at or at an earlier message.
        starts = [start for start in due if start <= post_at] + [post_at]
        return any(
            sum(start <= t < start + SCHEDULE_WINDOW_SECONDS for t in due) >= SCHEDULE_WINDOW_MAX
            for start in starts
        )

    def _chat_delete_scheduled_message(self, args: Args) -> JSON:
        scheduled = self.scheduled.get(args.text("scheduled_message_id"))
        if scheduled is None or scheduled.channel_id != args.text("channel"):
            raise Failure("invalid_scheduled_message_id")
        del self.scheduled[scheduled.id]
        return {"ok": True}

    def _chat_scheduled_messages_list(self, args: Args) -> JSON:
        channel_id = args.optional("channel")
        if channel_id is not None and channel_id not in self.channels:
            raise Failure("invalid_channel")
        oldest = args.integer("oldest")
        latest = args.integer("latest")
        items = [
            {
                "id": scheduled.id,
                "channel_id": scheduled.channel_id,
                "post_at": scheduled.post_at,
                "date_created": scheduled.date_created,
                "text": scheduled.text,
            }
            for scheduled in sorted(self.scheduled.values(), key=lambda item: item.post_at)
            if (channel_id is None or scheduled.channel_id == channel_id)
            and (oldest is None or scheduled.post_at >= oldest)
            and (latest is None or scheduled.post_at <= latest)
        ]
        page, cursor = self._page(items, args)
        return {"ok": True, "scheduled_messages": page, "response_metadata": {"next_cursor": cursor}}

    def _pinned_message(self, args: Args) -> tuple[ChannelState, JSON]:
        channel = self._joined(args.text("channel"), writable=False)
        if not args.text("timestamp"):
            raise Failure("no_item_specified")
        return channel, self._message(channel, args.text("timestamp"))

    def _pins_add(self, args: Args) -> JSON:
        channel, message = self._pinned_message(args)
        if message["ts"] in channel.pins:
            raise Failure("already_pinned")
        channel.pins.append(message["ts"])
        channel.pinned_at[message["ts"]] = int(self._clock())
        message["pinned_to"] = [channel.id]
        return {"ok": True}

    def _pins_remove(self, args: Args) -> JSON:
        channel, message = self._pinned_message(args)
        if message["ts"] not in channel.pins:
            raise Failure("no_pin")
        channel.pins.remove(message["ts"])
        channel.pinned_at.pop(message["ts"], None)
        message.pop("pinned_to", None)
        return {"ok": True}

    def _pins_list(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        items = []
        for ts in reversed(channel.pins):
            message = self._message(channel, ts)
            items.append(
                {
                    "type": "message",
                    "created": channel.pinned_at.get(ts, 0),
                    "created_by": self.bot_user_id,
                    "channel": channel.id,
                    "message": {**message, "permalink": self._permalink(channel.id, message)},
                }
            )
        return {"ok": True, "items": items}

    def _reactions_add(self, args: Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("timestamp"))
        name = args.text("name").strip(":")
        if not name or any(char.isspace() or char == ":" for char in name):
            raise Failure("invalid_name")
        reactions: list[JSON] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if self.bot_user_id in reaction["users"]:
            raise Failure("already_reacted")
        reaction["users"].append(self.bot_user_id)
        reaction["count"] += 1
        return {"ok": True}
