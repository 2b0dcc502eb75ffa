"""The Web API's views methods: modals and App Home."""

from __future__ import annotations

from standin.calls import Args, Failure, checked_blocks
from standin.shapes import Shapes
from standin.state import (
    JSON,
    VIEW_BLOCKS_MAX,
)


class ViewsMethods(Shapes):
    """The views methods."""

    def _view_arg(self, args: Args, *, kind: str, replacing: str | None = None) -> JSON:
        view = args.decoded("view")
        if not isinstance(view, dict):
            raise Failure(
                "invalid_arguments", messages=["[ERROR] view must be an object [json-pointer:/view]"]
            )
        if view.get("type") != kind:
            raise Failure(
                "invalid_arguments", messages=[f"[ERROR] must be '{kind}' [json-pointer:/view/type]"]
            )
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list):
            raise Failure(
                "invalid_arguments", messages=["[ERROR] must be an array [json-pointer:/view/blocks]"]
            )
        checked_blocks(blocks, limit=VIEW_BLOCKS_MAX, pointer="/view/blocks")
        if kind == "modal":
            title = view.get("title")
            if not isinstance(title, dict) or not title.get("text"):
                raise Failure(
                    "invalid_arguments",
                    messages=["[ERROR] missing required field: title [json-pointer:/view]"],
                )
            if len(str(title["text"])) > 24:
                raise Failure(
                    "invalid_arguments",
                    messages=["[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"],
                )
            if any(block.get("type") == "input" for block in blocks) and not view.get("submit"):
                raise Failure(
                    "invalid_arguments",
                    messages=[
                        "[ERROR] must provide a submit property when using input blocks [json-pointer:/view]"
                    ],
                )
        if len(str(view.get("private_metadata", ""))) > 3000:
            raise Failure(
                "invalid_arguments",
                messages=["[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"],
            )
        external_id = view.get("external_id")
        if external_id and any(
            v["external_id"] == external_id and v["id"] != replacing for v in self.views.values()
        ):
            raise Failure("duplicate_external_id")
        return view

    def _views_open(self, args: Args) -> JSON:
        view = self._view_arg(args, kind="modal")
        view_id = self._new_id("V")
        self.views[view_id] = self._view_object(view, view_id=view_id, root_view_id=view_id, previous=None)
        return {"ok": True, "view": self.views[view_id]}

    def _views_push(self, args: Args) -> JSON:
        view = self._view_arg(args, kind="modal")
        modals = [v for v in self.views.values() if v["type"] == "modal"]
        previous = modals[-1] if modals else None
        view_id = self._new_id("V")
        root = previous["root_view_id"] if previous else view_id
        self.views[view_id] = self._view_object(
            view, view_id=view_id, root_view_id=root, previous=previous["id"] if previous else None
        )
        return {"ok": True, "view": self.views[view_id]}

    def _views_update(self, args: Args) -> JSON:
        if args.text("view_id"):
            current = self.views.get(args.text("view_id"))
        elif args.text("external_id"):
            external_id = args.text("external_id")
            current = next((v for v in self.views.values() if v["external_id"] == external_id), None)
        else:
            raise Failure("invalid_arguments", messages=["[ERROR] either view_id or external_id is required"])
        if current is None:
            raise Failure("not_found")
        if args.text("hash") and args.text("hash") != current["hash"]:
            raise Failure("hash_conflict")
        view = self._view_arg(args, kind=str(current["type"]), replacing=str(current["id"]))
        updated = self._view_object(
            view,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous=current["previous_view_id"],
        )
        self.views[current["id"]] = updated
        for user_id, home in self.home_views.items():
            if home["id"] == current["id"]:
                self.home_views[user_id] = updated
        return {"ok": True, "view": updated}

    def _views_publish(self, args: Args) -> JSON:
        user_id = args.text("user_id")
        self._user(user_id)
        current = self.home_views.get(user_id)
        view = self._view_arg(args, kind="home", replacing=current["id"] if current else None)
        if current is not None and args.text("hash") and args.text("hash") != current["hash"]:
            raise Failure("hash_conflict")
        view_id = current["id"] if current is not None else self._new_id("V")
        published = self._view_object(view, view_id=view_id, root_view_id=view_id, previous=None)
        self.views[view_id] = published
        self.home_views[user_id] = published
        return {"ok": True, "view": published}
