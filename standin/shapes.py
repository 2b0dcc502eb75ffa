"""How Slack shapes the objects in its answers: channels, users, views, files and permalinks."""

from __future__ import annotations

import mimetypes
import secrets

from standin.state import (
    JSON,
    ChannelState,
    UploadedFile,
    UserState,
    tz_details,
)
from standin.workspace import PERMALINK_HOST, Workspace


class Shapes(Workspace):
    """The objects the methods answer with, as Slack's are."""

    def _permalink(self, channel_id: str, message: JSON) -> str:
        link = f"{PERMALINK_HOST}/archives/{channel_id}/p{str(message['ts']).replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link

    def _channel_object(self, channel: ChannelState, *, num_members: bool = False) -> JSON:
        if channel.is_im:
            user = next((m for m in channel.members if m != self.bot_user_id), self.bot_user_id)
            return {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": user,
                "is_user_deleted": False,
                "priority": 0,
            }
        obj: JSON = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": channel.created * 1000,
            "creator": channel.creator,
            "is_member": self.bot_user_id in channel.members,
            "last_read": "0000000000.000000",
            "topic": {
                "value": channel.topic,
                "creator": channel.topic_set[0],
                "last_set": channel.topic_set[1],
            },
            "purpose": {
                "value": channel.purpose,
                "creator": channel.purpose_set[0],
                "last_set": channel.purpose_set[1],
            },
            "previous_names": [],
            "priority": 0,
        }
        if num_members:
            obj["num_members"] = len(channel.members)
        return obj

    def _user_object(self, user: UserState, *, include_locale: bool) -> JSON:
        tz_label, tz_offset = tz_details(user.tz)
        avatar = f"{PERMALINK_HOST}/avatars/{user.id}"
        profile: JSON = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "fields": {},
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": "g" + user.id[-10:].lower(),
            "first_name": user.real_name.split(" ")[0],
            "last_name": " ".join(user.real_name.split(" ")[1:]),
            "image_24": f"{avatar}_24.png",
            "image_32": f"{avatar}_32.png",
            "image_48": f"{avatar}_48.png",
            "image_72": f"{avatar}_72.png",
            "image_192": f"{avatar}_192.png",
            "image_512": f"{avatar}_512.png",
            "team": self.team_id,
        }
        if user.email is not None:
            profile["email"] = user.email
        if user.is_bot:
            profile.update(bot_id=self.bot_id, api_app_id=self.app_id, always_active=True)
        obj: JSON = {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": user.updated,
            "is_email_confirmed": user.email is not None,
            "who_can_share_contact_card": "EVERYONE",
        }
        if include_locale:
            obj["locale"] = user.locale
        return obj

    def _view_object(self, view: JSON, *, view_id: str, root_view_id: str, previous: str | None) -> JSON:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self._clock())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _file_object(self, uploaded: UploadedFile) -> JSON:
        extension = uploaded.name.rsplit(".", 1)[-1].lower() if "." in uploaded.name else "text"
        private = f"{PERMALINK_HOST}/files-pri/{self.team_id}-{uploaded.id}/{uploaded.name}"
        channels = [uploaded.channel_id] if uploaded.channel_id else []
        return {
            "id": uploaded.id,
            "created": uploaded.created,
            "timestamp": uploaded.created,
            "name": uploaded.name,
            "title": uploaded.title or uploaded.name,
            "mimetype": mimetypes.guess_type(uploaded.name)[0] or "text/plain",
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "editable": False,
            "size": len(uploaded.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(channels) and not self.channels[channels[0]].is_private,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": private,
            "url_private_download": private.replace("/files-pri/", "/files-pri/download/"),
            "permalink": f"{PERMALINK_HOST}/files/{self.bot_user_id}/{uploaded.id}/{uploaded.name}",
            "permalink_public": f"{PERMALINK_HOST}/{self.team_id}-{uploaded.id}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": channels,
            "groups": [],
            "ims": [],
            "has_rich_preview": False,
            "file_access": "visible",
        }
