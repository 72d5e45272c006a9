"""Bundle the API description under openapi/ into openapi.json, the document the server serves.

    python scripts/build_openapi.py           # write openapi.json
    python scripts/build_openapi.py --check   # exit 1 when openapi.json is not the bundle

openapi/openapi.yaml is the root: info, servers, tags, and `paths`, each a $ref to a path
item in one of openapi/paths/*.yaml. Components live under openapi/components/: a file
per component (components/schemas/User.yaml) or a file of several
(components/parameters.yaml#/ClientId, components/responses/pages.yaml#/SignInPage). A
$ref is relative to the file it is written in; the bundle turns every reference to a
component into `#/components/<kind>/<Name>` (the kind is the folder or file right under
components/, the name the file's stem or the first key after `#/`), inlines path items,
and holds every component defined under components/, sorted by name. YAML anchors and
merge keys (`<<: *name`) may share a shape within one file; response maps come out
ordered by status code. The output is JSON (ASCII, two-space indents), keys in source order.
"""

import json
import sys
from pathlib import Path, PurePosixPath

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "openapi"
TARGET = ROOT / "openapi.json"
KINDS = ("securitySchemes", "parameters", "headers", "requestBodies", "responses", "examples", "schemas")


class BundleError(Exception):
    """The description under openapi/ cannot be bundled (a bad $ref, a clash of names)."""


class _Loader(yaml.SafeLoader):
    """YAML as PyYAML reads it, but a key given twice in one mapping is an error (PyYAML
    would keep the last silently); keys a merge (`<<: *anchor`) brings may be overridden."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"{key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class Bundler:
    def __init__(self, source: Path) -> None:
        self.source = source
        self.files: dict[PurePosixPath, object] = {}
        self.components: dict[str, dict[str, tuple[PurePosixPath, str | None]]] = {k: {} for k in KINDS}
        self.used_paths: set[tuple[PurePosixPath, str]] = set()

    def load(self, name: PurePosixPath) -> object:
        if name not in self.files:
            path = self.source / name
            if not path.is_file():
                raise BundleError(f"no such file: openapi/{name}")
            try:
                self.files[name] = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
            except yaml.YAMLError as e:
                raise BundleError(f"openapi/{name}: {e}") from None
        return self.files[name]

    def bundle(self) -> dict:
        root = self.load(PurePosixPath("openapi.yaml"))
        assert isinstance(root, dict)
        self._find_components()
        document = {}
        for key, value in root.items():
            if key == "paths":
                document["paths"] = {path: self._path_item(item, path) for path, item in value.items()}
            elif key == "components":
                raise BundleError("openapi.yaml: components live under openapi/components/, not in the root")
            else:
                document[key] = self._resolve(value, PurePosixPath("openapi.yaml"), False)
        self._check_every_path_used()
        components = {}
        for kind in KINDS:
            found = self.components[kind]
            if found:
                components[kind] = {name: self._component(kind, name, *found[name]) for name in sorted(found)}
        document["components"] = components
        return document

    # -- components -----------------------------------------------------------------------------

    def _find_components(self) -> None:
        folder = self.source / "components"
        for path in sorted(folder.rglob("*.yaml")):
            name = PurePosixPath(path.relative_to(self.source).as_posix())
            kind = self._kind(name)
            content = self.load(name)
            if self._single(name):
                self._define(kind, name.stem, name, None)
            else:
                if not isinstance(content, dict):
                    raise BundleError(f"openapi/{name}: a file of {kind} is a map of name to {kind[:-1]}")
                for key in content:
                    self._define(kind, key, name, key)

    @staticmethod
    def _kind(name: PurePosixPath) -> str:
        parts = name.parts
        if len(parts) < 2 or parts[0] != "components":
            raise BundleError(f"openapi/{name} is not a component file")
        kind = parts[1].removesuffix(".yaml")
        if kind not in KINDS:
            raise BundleError(f"openapi/{name}: {kind!r} is not a kind of component ({', '.join(KINDS)})")
        return kind

    @staticmethod
    def _single(name: PurePosixPath) -> bool:
        """components/schemas/User.yaml holds one schema; components/parameters.yaml and
        components/responses/pages.yaml hold several."""
        return len(name.parts) == 3 and name.parts[1] == "schemas"

    def _define(self, kind: str, key: str, name: PurePosixPath, member: str | None) -> None:
        if key in self.components[kind]:
            other = self.components[kind][key][0]
            raise BundleError(f"{kind} {key!r} is defined in openapi/{other} and openapi/{name}")
        self.components[kind][key] = (name, member)

    def _component(self, kind: str, key: str, name: PurePosixPath, member: str | None) -> object:
        content = self.load(name)
        value = content if member is None else content[member]
        return self._resolve(value, name, kind == "schemas")

    # -- references -----------------------------------------------------------------------------

    def _path_item(self, item: object, path: str) -> object:
        if not isinstance(item, dict) or set(item) != {"$ref"}:
            raise BundleError(f"openapi.yaml: paths[{path!r}] must be a $ref to a path item in openapi/paths/")
        name, pointer = self._split(item["$ref"], PurePosixPath("openapi.yaml"))
        if name.parts[0] != "paths" or pointer is None:
            raise BundleError(f"openapi.yaml: paths[{path!r}] must point into a file under openapi/paths/")
        self.used_paths.add((name, pointer))
        return self._resolve(self._at(self.load(name), pointer, name), name, False)

    def _check_every_path_used(self) -> None:
        for path in sorted((self.source / "paths").glob("*.yaml")):
            name = PurePosixPath(path.relative_to(self.source).as_posix())
            for key in self.load(name) or {}:
                pointer = "/" + key.replace("~", "~0").replace("/", "~1")
                if (name, pointer) not in self.used_paths:
                    raise BundleError(f"openapi/{name} describes {key}, which openapi.yaml does not list")

    def _resolve(self, value: object, where: PurePosixPath, in_schema: bool) -> object:
        if isinstance(value, list):
            return [self._resolve(v, where, in_schema) for v in value]
        if not isinstance(value, dict):
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise BundleError(f"openapi/{where}: {value!r} is not JSON (quote dates and times)")
            return value
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise BundleError(f"openapi/{where}: key {key!r} is not a string (quote status codes)")
            if key == "$ref" and isinstance(item, str):
                out[key] = self._reference(item, where)
            elif key == "responses" and not in_schema and isinstance(item, dict) and all(map(_is_status, item)):
                out[key] = {k: self._resolve(item[k], where, in_schema) for k in sorted(item, key=_status_order)}
            else:
                out[key] = self._resolve(item, where, in_schema or key == "schema")
        return out

    def _reference(self, ref: str, where: PurePosixPath) -> str:
        name, pointer = self._split(ref, where)
        if name.parts[0] != "components":
            raise BundleError(f"openapi/{where}: $ref {ref!r} must point to a component")
        kind = self._kind(name)
        if self._single(name):
            key, rest = name.stem, pointer or ""
        else:
            if not pointer:
                raise BundleError(f"openapi/{where}: $ref {ref!r} names no member of openapi/{name}")
            key, _, tail = pointer[1:].partition("/")
            key = key.replace("~1", "/").replace("~0", "~")
            rest = "/" + tail if tail else ""
        found = self.components[kind].get(key)
        if found is None or found[0] != name:
            raise BundleError(f"openapi/{where}: $ref {ref!r}: no {kind} {key!r} in openapi/{name}")
        target = f"#/components/{kind}/{key}{rest}"
        if rest:
            self._at(self.load(name) if found[1] is None else self.load(name)[key], rest, name)
        return target

    def _split(self, ref: str, where: PurePosixPath) -> tuple[PurePosixPath, str | None]:
        file, _, pointer = ref.partition("#")
        if ref.startswith("#/components/") or "://" in ref:
            raise BundleError(f"openapi/{where}: write $ref {ref!r} as a path to the file that holds it")
        name = where if not file else _normal(where.parent / file)
        if not (self.source / name).is_file():
            raise BundleError(f"openapi/{where}: $ref {ref!r}: no such file openapi/{name}")
        return name, pointer or None

    @staticmethod
    def _at(document: object, pointer: str, name: PurePosixPath) -> object:
        value = document
        for token in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            elif isinstance(value, dict) and token in value:
                value = value[token]
            else:
                raise BundleError(f"openapi/{name}: nothing at #{pointer}")
        return value


def _normal(path: PurePosixPath) -> PurePosixPath:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                raise BundleError(f"{path} leaves openapi/")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)


def _is_status(key: object) -> bool:
    return key == "default" or isinstance(key, str) and len(key) == 3 and key[0] in "12345" \
        and (key[1:].isdigit() or key[1:] == "XX")


def _status_order(status: str) -> tuple[int, str]:
    """200, 201, ..., 4XX, ..., default last."""
    return (1, status) if status == "default" else (0, status)


def render(document: dict) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def build(source: Path = SOURCE) -> bytes:
    """The bundled document, as the bytes committed in openapi.json."""
    return render(Bundler(source).bundle())


def main(argv: list[str]) -> int:
    try:
        bundled = build()
    except BundleError as e:
        print(f"build_openapi: {e}", file=sys.stderr)
        return 1
    if "--check" in argv:
        if TARGET.read_bytes() != bundled:
            print("build_openapi: openapi.json is not the bundle of openapi/: run scripts/build_openapi.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_bytes(bundled)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
