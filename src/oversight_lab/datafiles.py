"""The lab's data files (scenarios, grids): YAML read with the line of every key, checked by a schema.

One way to read them: :class:`YamlFile` composes the text into nodes (so every error can name the file, the
line and the key), reads mappings with duplicate keys refused, checks a mapping's keys (unknown, missing) and
builds a dataclass from a mapping, checking each field against its type hint. ``!include NAME`` anywhere in a
file inserts the shared file ``NAME.yaml`` of the first directory in ``shared`` that has one (the scenarios'
fragments), so a value used by several files is written once; ``!splice NAME`` as an item of a list inserts
the items of the shared list ``NAME`` there (flaws shared by several evaluators, next to their own).

YAML 1.1 (PyYAML) reads ``2e-4`` as a string; such a value is refused with the spelling that works.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DataFileError", "YamlFile", "find_shared", "known_shared", "line_of"]

INCLUDE = "!include"
SPLICE = "!splice"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: the same nodes, faster
_NUMBER_AS_TEXT = re.compile(r"[-+]?(\d[\d_]*\.?\d*|\.\d+)[eE][-+]?\d+")


def _spellings(text: str) -> str:
    """How to write a number YAML 1.1 reads as text: ``2e-4`` → ``0.0002 or 2.0e-4``."""
    mantissa, _, exponent = text.lower().replace("_", "").partition("e")
    decimal = f"{float(text):.15f}".rstrip("0")
    decimal += "0" if decimal.endswith(".") else ""
    mantissa += "" if "." in mantissa else ".0"
    return f"{decimal} or {mantissa}e{exponent if exponent[0] in '+-' else '+' + exponent}"


class DataFileError(ValueError):
    """A data file is wrong; the message names the file, the line and the key."""


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def find_shared(name: str, dirs: Sequence[Path]) -> Path | None:
    """``NAME.yaml`` in the first of ``dirs`` that has it."""
    return next((d / f"{name}.yaml" for d in dirs if (d / f"{name}.yaml").is_file()), None)


def known_shared(dirs: Sequence[Path]) -> list[str]:
    return sorted({p.stem for d in dirs for p in d.glob("*.yaml") if not p.name.startswith("_")})


class YamlFile:
    """One YAML data file, composed to nodes; ``root`` is None for an empty file.

    ``error``: the exception type raised (a subclass of :class:`DataFileError`); ``shared``: the
    directories ``!include NAME`` looks in for ``NAME.yaml``, in order (without, ``!include`` is an error).
    """

    def __init__(
        self,
        text: str,
        source: str,
        error: type[DataFileError] = DataFileError,
        shared: Sequence[Path] = (),
        _chain: tuple[str, ...] = (),
    ) -> None:
        self.source, self.error_type, self.shared = source, error, tuple(shared)
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            raise self.error(
                mark.line + 1 if mark else 1, f"not valid YAML ({e.problem or e.context})"
            ) from None
        self.root = None if root is None else self._resolve(root, {}, _chain)

    @classmethod
    def read(cls, path: Path, error: type[DataFileError] = DataFileError, **options: Any) -> YamlFile:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise error(f"{path}: cannot read the file ({e})") from None
        return cls(text, str(path), error, **options)

    def error(self, at: yaml.Node | int, message: str) -> DataFileError:
        return self.error_type(f"{self.source}, line {at if isinstance(at, int) else line_of(at)}: {message}")

    # -- includes --------------------------------------------------------------------------------------------

    def _resolve(self, node: yaml.Node, done: dict[int, yaml.Node], chain: tuple[str, ...]) -> yaml.Node:
        """``node`` with every ``!include NAME`` replaced by that file's root and every ``!splice NAME`` by
        that file's items (an alias stays shared)."""
        if id(node) in done:
            return done[id(node)]
        if node.tag == INCLUDE:
            done[id(node)] = out = self._include(node, chain)
            return out
        if node.tag == SPLICE:
            raise self.error(node, f"{SPLICE} stands only as an item of a list (use {INCLUDE} for a value)")
        done[id(node)] = node
        if isinstance(node, yaml.MappingNode):
            node.value = [
                (self._resolve(k, done, chain), self._resolve(v, done, chain)) for k, v in node.value
            ]
        elif isinstance(node, yaml.SequenceNode):
            items: list[yaml.Node] = []
            for v in node.value:
                if v.tag != SPLICE:
                    items.append(self._resolve(v, done, chain))
                    continue
                spliced = self._include(v, chain, SPLICE)
                if not isinstance(spliced, yaml.SequenceNode):
                    raise self.error(v, f"{SPLICE} {v.value}: the shared file is not a list")
                items.extend(spliced.value)
            node.value = items
        return node

    def _include(self, node: yaml.Node, chain: tuple[str, ...], tag: str = INCLUDE) -> yaml.Node:
        name = node.value if isinstance(node, yaml.ScalarNode) else None
        if not self.shared:
            raise self.error(node, f"{tag} is not allowed in this file")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise self.error(node, f"{tag} takes the name of a shared file, got {name!r}")
        path = find_shared(name, self.shared)
        if path is None:
            known = ", ".join(known_shared(self.shared)) or "none"
            raise self.error(node, f"{tag} {name}: no shared file of that name (known: {known})")
        if name in chain:
            raise self.error(node, f"{tag} {name}: includes itself ({' → '.join([*chain, name])})")
        try:
            included = YamlFile.read(path, self.error_type, shared=self.shared, _chain=(*chain, name)).root
        except DataFileError as e:
            raise self.error(node, f"{tag} {name}: {e}") from None
        if included is None:
            raise self.error(node, f"{tag} {name}: the shared file is empty")
        return included

    # -- reading ---------------------------------------------------------------------------------------------

    def value(self, node: yaml.Node, where: str = "") -> Any:
        """The plain Python value of a node (numbers written as ``2e-4`` refused)."""
        loader = _LOADER("")
        try:
            out = loader.construct_document(node)
        except yaml.YAMLError as e:
            raise self.error(
                node, f"{where + ': ' if where else ''}{getattr(e, 'problem', None) or e}"
            ) from None
        finally:
            loader.dispose()
        self._no_numbers_as_text(node, where)
        return out

    def _no_numbers_as_text(self, node: yaml.Node, where: str) -> None:
        if isinstance(node, yaml.ScalarNode):
            plain_text = not node.style and node.tag == "tag:yaml.org,2002:str"
            if plain_text and _NUMBER_AS_TEXT.fullmatch(node.value):
                message = f"{node.value} is read by YAML as text; write {_spellings(node.value)}"
                raise self.error(node, f"{where}: {message}" if where else message)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                self._no_numbers_as_text(k, where)
                self._no_numbers_as_text(v, where)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                self._no_numbers_as_text(v, where)

    def mapping(self, node: yaml.Node, where: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) items of a mapping; duplicate and non-string keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{where} must be a mapping of key: value")
        seen: dict[str, int] = {}
        items = []
        for k, v in node.value:
            key = self.value(k, where)
            if not isinstance(key, str):
                raise self.error(k, f"{where}: key {key!r} must be a string")
            if key in seen:
                raise self.error(k, f"{where}: key {key!r} repeats the one on line {seen[key]}")
            seen[key] = line_of(k)
            items.append((key, k, v))
        return items

    def keys(
        self, node: yaml.Node, where: str, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping's (key node, value node) by key; an unknown or a missing key is an error.

        ``where`` is empty for the top of the file (messages then start with the key itself).
        """
        prefix = f"{where}: " if where else ""
        allowed = list(allowed)
        out = {key: (k, v) for key, k, v in self.mapping(node, where or "the file")}
        for key, (k, _) in out.items():
            if key not in allowed:
                raise self.error(k, f"{prefix}unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
        for key in required:
            if key not in out:
                raise self.error(node, f"{prefix}missing key {key!r}")
        return out

    def typed(self, node: yaml.Node, where: str, hint: Any) -> Any:
        """The node's value checked against a type hint (str, int, float, bool, Any, ``X | None``,
        ``Literal``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``list[X]``, ``dict[str, X]`` or a dataclass);
        lists become tuples where the hint is a tuple, and ints become floats where it is float."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is Any:
            return self.value(node, where)
        if dataclasses.is_dataclass(hint):
            return self.build(hint, node, where)
        if origin in (typing.Union, types.UnionType):
            if isinstance(node, yaml.ScalarNode) and self.value(node, where) is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.typed(node, where, inner[0] if len(inner) == 1 else Any)
        if origin is tuple or origin is list:
            if not isinstance(node, yaml.SequenceNode):
                raise self.error(node, f"{where}: expected a list, got {self.value(node, where)!r}")
            if (
                origin is tuple
                and not (len(args) == 2 and args[1] is Ellipsis)
                and len(node.value) != len(args)
            ):
                raise self.error(
                    node, f"{where}: expected a list of {len(args)}, got {len(node.value)} items"
                )
            item_hints = [args[0]] * len(node.value) if len(args) < 2 or args[1] is Ellipsis else list(args)
            items = [
                self.typed(v, f"{where}, item {i + 1}", h)
                for i, (v, h) in enumerate(zip(node.value, item_hints, strict=True))
            ]
            return tuple(items) if origin is tuple else items
        if origin is dict:
            return {
                key: self.typed(v, f"{where}, key {key!r}", args[1] if args else Any)
                for key, _, v in self.mapping(node, where)
            }
        value = self.value(node, where)
        if origin is typing.Literal:
            if value not in args:
                raise self.error(
                    node, f"{where}: expected one of {', '.join(map(repr, args))}, got {value!r}"
                )
            return value
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, hint) or (isinstance(value, bool) and hint is not bool):
            name = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
                hint, hint
            )
            hint_text = (
                " (quote it)"
                if hint is str and value is not None and not isinstance(value, (list, dict))
                else ""
            )
            raise self.error(node, f"{where}: expected {name}, got {value!r}{hint_text}")
        return value

    def build(
        self,
        cls: type,
        node: yaml.Node,
        where: str,
        given: dict[str, Any] | None = None,
        skip: Iterable[str] = (),
    ) -> Any:
        """An instance of the dataclass ``cls`` from a mapping node: keys are its fields (less ``skip``, which
        with ``given`` come from elsewhere), each checked against its type hint; fields without a default are
        required unless ``given``. An error the dataclass raises itself is reported at the mapping."""
        hints = typing.get_type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in set(skip)]
        given = dict(given or {})
        required = [
            f.name
            for f in fields
            if f.name not in given
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        items = self.keys(node, where, [f.name for f in fields], required)
        prefix = f"{where}, key" if where else "key"
        kwargs = {
            **given,
            **{key: self.typed(v, f"{prefix} {key!r}", hints[key]) for key, (_, v) in items.items()},
        }
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as e:
            raise self.error(node, f"{where + ': ' if where else ''}{e}") from None
