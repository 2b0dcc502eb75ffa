"""The Web API's files (external uploads) and bookmarks methods."""

from __future__ import annotations

from standin.calls import Args, Failure
from standin.shapes import Shapes
from standin.state import (
    JSON,
    UploadedFile,
)


class FilesMethods(Shapes):
    """The files methods."""

    def _files_get_upload_url_external(self, args: Args) -> JSON:
        length = args.integer("length")
        if length is None or length < 0:
            raise Failure("invalid_arguments", messages=["[ERROR] length must be a positive number"])
        file_id = self._new_id("F")
        self.files[file_id] = UploadedFile(
            id=file_id, name=args.text("filename"), length=length, created=int(self._clock())
        )
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: Args) -> JSON:
        entries = args.decoded("files")
        if not isinstance(entries, list) or not entries:
            raise Failure("invalid_arguments", messages=["[ERROR] files must be a non-empty JSON array"])
        uploads: list[tuple[UploadedFile, JSON]] = []
        for entry in entries:
            uploaded = self.files.get(str(entry.get("id", ""))) if isinstance(entry, dict) else None
            if uploaded is None or not uploaded.uploaded or uploaded.completed:
                raise Failure("file_not_found")
            uploads.append((uploaded, entry))
        channel_ids = [c for c in args.text("channels").split(",") if c] or [args.text("channel_id")]
        channel_ids = [c for c in channel_ids if c]
        channels = [self._joined(channel_id) for channel_id in channel_ids]
        comment = args.optional("initial_comment")
        thread_ts = args.optional("thread_ts")
        for uploaded, entry in uploads:
            uploaded.title = str(entry.get("title") or uploaded.name)
            uploaded.completed = True
            uploaded.channel_id = channels[0].id if channels else None
            uploaded.initial_comment = comment
            uploaded.thread_ts = thread_ts
        objects = [self._file_object(uploaded) for uploaded, _ in uploads]
        for channel in channels:
            message = self._bot_message(text=comment or "")
            message.update(files=objects, upload=True, display_as_bot=False)
            if thread_ts:
                message["thread_ts"] = thread_ts
            self._append(channel, message)
        return {"ok": True, "files": objects}

    def _bookmarks_add(self, args: Args) -> JSON:
        channel = self._joined(args.text("channel_id"))
        kind = args.text("type")
        if kind != "link":
            raise Failure("invalid_bookmark_type")
        link = args.text("link")
        if not link.startswith(("http://", "https://")):
            raise Failure("invalid_link")
        now = int(self._clock())
        bookmark: JSON = {
            "id": self._new_id("Bk"),
            "channel_id": channel.id,
            "title": args.text("title"),
            "link": link,
            "emoji": args.text("emoji"),
            "icon_url": "",
            "type": kind,
            "entity_id": args.text("entity_id"),
            "date_created": now,
            "date_updated": now,
            "rank": chr(ord("U") + len(channel.bookmarks)),
            "last_updated_by_user_id": self.bot_user_id,
            "last_updated_by_team_id": self.team_id,
            "shortcut_id": "",
            "app_id": self.app_id,
        }
        channel.bookmarks.append(bookmark)
        return {"ok": True, "bookmark": bookmark}
