"""``cq-geo data``: install, update, import, validate and roll back the data store.

Examples (shell)::

    cq-geo data status
    cq-geo data update                      # communes (geo.api.gouv.fr) and QPV 2024 (ANCT)
    cq-geo data update --only qpv
    cq-geo data import qpv qp2024.zip       # machines without internet
    cq-geo data import local poches.gpkg --tier poche --name-field nom
    cq-geo data validate-zone POCHE-HAVELUY-CENTRE --by "Service politique de la ville"
    cq-geo data rollback

Heavy imports stay inside the functions (``cq-geo --help`` must start fast).
"""

from __future__ import annotations

import argparse
import contextlib
import json

__all__ = ["COMMANDS"]


def _seconds(text: str) -> float:
    """--timeout: a finite number of seconds above 0 (``-1``, ``0``, ``nan`` refused in French)."""
    import math

    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"nombre de secondes attendu (reçu : {text!r})") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"nombre de secondes supérieur à 0 attendu, ex. 60 (reçu : {text!r})")
    return value


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import add_store_arguments

    sub = p.add_subparsers(dest="data_command", metavar="ACTION")

    s = sub.add_parser("status", help="couches installées, statut, millésime, source, ce qui manque",
                       description="État du magasin de données : chaque couche avec son statut, son millésime, "
                                   "sa source, et ce qui manque avec la commande qui le corrige.")
    s.add_argument("--json", action="store_true", help="rapport en JSON")
    add_store_arguments(s)

    u = sub.add_parser("update", help="télécharger et installer les couches officielles (communes, QPV 2024)",
                       description="Télécharge (HTTPS) et installe les contours des communes (geo.api.gouv.fr) "
                                   "et les périmètres QPV 2024 (ANCT, data.gouv.fr).")
    u.add_argument("--only", choices=["qpv", "communes"], help="une seule couche")
    u.add_argument("--url", help="autre adresse du fichier (avec --only ; miroir local par exemple)")
    u.add_argument("--sha256", metavar="EMPREINTE", help="empreinte sha256 attendue du fichier (avec --only)")
    u.add_argument("--timeout", type=_seconds, default=60.0, help="délai d'attente réseau en secondes (60)")
    u.add_argument("--retries", type=int, default=3, help="nouvelles tentatives en cas d'échec (3)")
    u.add_argument("--force", action="store_true", help="réinstaller même si le fichier n'a pas changé")
    add_store_arguments(u)

    i = sub.add_parser("import", help="importer un fichier local (qpv, qpv2015, communes, local)",
                       description="Importe un fichier (GeoJSON, GeoPackage, shapefile ou zip) : les fichiers "
                                   "officiels (qpv, qpv2015, communes) ou des zones dessinées par l'agglomération "
                                   "(local, avec --tier).")
    i.add_argument("kind", choices=["qpv", "qpv2015", "communes", "local", "ban"],
                   help="type de fichier (ban : adresses de la BAN du département, adresses-XX.csv.gz, pour le géocodage hors ligne)")
    i.add_argument("file", metavar="FICHIER", help="fichier à importer")
    i.add_argument("--tier", metavar="NIVEAU", help="niveau des zones locales, déclaré dans le fichier de territoire "
                                                    "(poche, qva… ; obligatoire avec local)")
    i.add_argument("--name-field", metavar="CHAMP", help="champ portant le nom ou le code de la zone (local)")
    i.add_argument("--layer", metavar="COUCHE", help="couche à lire dans un GeoPackage à plusieurs couches")
    i.add_argument("--accept-overlap", action="store_true", help="accepter que des zones du même niveau se chevauchent")
    i.add_argument("--by", metavar="NOM", default="", help="qui importe (enregistré dans l'historique)")
    i.add_argument("--force", action="store_true", help="réimporter même si le fichier est déjà installé")
    i.add_argument("--json", action="store_true", help="compte rendu en JSON")
    add_store_arguments(i)

    v = sub.add_parser("validate-zone", help="valider le périmètre d'une zone locale (qui et quand sont enregistrés)",
                       description="Passe une zone locale importée de « provisoire » à « validée ».")
    v.add_argument("code", metavar="CODE", help="code de la zone (ex. POCHE-HAVELUY-CENTRE)")
    v.add_argument("--by", metavar="NOM", required=True, help="qui valide (service ou fonction)")
    add_store_arguments(v)

    r = sub.add_parser("rollback", help="revenir à l'état précédent du magasin",
                       description="Restaure l'état du magasin d'avant la dernière modification "
                                   "(une deuxième fois : annule le retour). Magasin partagé : --to ÉTAT revient "
                                   "à n'importe quel état de l'historique (cq-geo data history).")
    r.add_argument("--to", type=int, metavar="ÉTAT", help="magasin partagé : état à restaurer (cq-geo data history)")
    add_store_arguments(r)

    h = sub.add_parser("history", help="historique des modifications (qui, quand, quoi)",
                       description="Historique des modifications du magasin : qui, quand, quelle zone, quel statut. "
                                   "Magasin partagé : les états auxquels data rollback --to peut revenir.")
    h.add_argument("code", nargs="?", metavar="CODE", help="une seule zone")
    h.add_argument("--json", action="store_true", help="historique en JSON")
    add_store_arguments(h)

    s = sub.add_parser("init-shared", help="créer le magasin partagé PostgreSQL/PostGIS de l'équipe",
                       description="Crée dans PostgreSQL/PostGIS le schéma du territoire (tables, contraintes, index, "
                                   "historique, fonction cq_lookup) et les rôles lecteur et éditeur. Sans danger à "
                                   "relancer : dit ce qu'il a créé. Mot de passe : ~/.pgpass ou pg_service.conf, "
                                   "jamais dans l'adresse.")
    s.add_argument("url", metavar="ADRESSE", help="postgresql://utilisateur@serveur/base ou service=NOM")
    s.add_argument("--upgrade", action="store_true", help="migrer un schéma créé par une version plus ancienne")
    s.add_argument("--territory-file", metavar="TOML", help="autre fichier de définition du territoire")

    pl = sub.add_parser("pull", help="copier le magasin partagé dans le GeoPackage local (travail hors ligne)",
                        description="Copie les couches du magasin partagé dans le magasin local (GeoPackage), avec "
                                    "leur provenance : les réponses marchent ensuite sans réseau ; data status dit "
                                    "l'âge de la copie.")
    pl.add_argument("url", metavar="ADRESSE", help="postgresql://utilisateur@serveur/base ou service=NOM")
    add_store_arguments(pl)
    p.set_defaults(_data_parser=p)


def _run(args: argparse.Namespace) -> int:
    action = getattr(args, "data_command", None)
    if not action:
        args._data_parser.print_help()
        return 2
    return {
        "status": _status, "update": _update, "import": _import, "validate-zone": _validate, "rollback": _rollback,
        "history": _history, "init-shared": _init_shared, "pull": _pull,
    }[action](args)


def _store(args, create: bool = True):
    from ..data.store import open_store

    return open_store(args.store, create=create, territory_file=args.territory_file)


@contextlib.contextmanager
def _new_or_existing_store(args):
    """The store (not created here: the import or update creates it under the writer lock, and removes it again
    if it fails)."""
    from ..data.store import store_at

    yield store_at(args.store, territory_file=args.territory_file)


def _status(args) -> int:
    from ..status import status_report, status_text

    report = status_report(args.store, territory_file=args.territory_file)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(status_text(report))
    return 0


def _progress_factory(label: str):
    from ..progress import tqdm_fr as tqdm

    bar = tqdm(total=None, unit="o", unit_scale=True, unit_divisor=1024, desc=f"téléchargement {label}",
               disable=None, leave=False)

    class _Progress:
        def __call__(self, done: int, total):
            if total and bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        def close(self):
            bar.close()

    return _Progress()


def _update(args) -> int:
    from ..data.imports import update_from_network
    from ..errors import DataError

    if (args.url or args.sha256) and not args.only:
        raise DataError("--url et --sha256 demandent --only qpv ou --only communes")
    with _new_or_existing_store(args) as store:
        reports = update_from_network(
            store, args.only, urls={args.only: args.url} if args.url else None, progress_factory=_progress_factory,
            timeout=args.timeout, retries=max(0, args.retries), territory_file=args.territory_file, force=args.force,
            sha256={args.only: args.sha256} if args.sha256 else None,
        )
    for rep in reports:
        print(rep.to_text())
    print(f"Magasin : {_where(store)}")
    return 0


def _where(store) -> str:
    """The store as shown to the user (the shared store's address never holds a password)."""
    return str(store) if hasattr(store, "label") else str(store.path)


def _import(args) -> int:
    from ..data.imports import import_local, import_official
    from ..errors import DataError

    if args.kind == "ban":  # the offline geocoder's address index (cq_geo.geocode.ban_index)
        from .geocode import run_ban_import

        return run_ban_import(args)
    if args.kind == "local":
        if not args.tier:
            raise DataError("indiquez le niveau des zones avec --tier (poche, qva ou un niveau du fichier de territoire)")
        with _new_or_existing_store(args) as store:
            rep = import_local(store, args.file, args.tier, name_field=args.name_field,
                               accept_overlap=args.accept_overlap, author=args.by,
                               territory_file=args.territory_file, layer=args.layer)
    else:
        if args.tier or args.name_field or args.accept_overlap:
            raise DataError("--tier, --name-field et --accept-overlap ne servent qu'avec « data import local »")
        with _new_or_existing_store(args) as store:
            rep = import_official(store, args.kind, args.file, territory_file=args.territory_file, layer=args.layer,
                                  force=args.force)
    if args.json:
        print(json.dumps(rep.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(rep.to_text())
        print(f"Magasin : {_where(store)}")
    return 0


def _validate(args) -> int:
    from ..data.imports import validate_zone

    store = _store(args, create=False)
    row = validate_zone(store, args.code, args.by, territory_file=args.territory_file)
    print(f"{row['code']} ({row['name']}) : validée par {row['validated_by']} le {row['validated_at']}")
    return 0


def _rollback(args) -> int:
    from ..data.store import store_at
    from ..errors import DataError

    store = store_at(args.store, territory_file=args.territory_file)  # whatever the file holds: only the previous state is checked
    if hasattr(store, "changes"):  # the shared store: any state of the history
        done = store.rollback(to=args.to)
        t = done["to"]
        print(f"Magasin partagé {store} revenu à l'état {t['change']} ({t['at']}, {t['description']}) : "
              f"{done['undone']} modification(s) de ligne annulée(s)")
        print("(ce retour est lui-même enregistré : cq-geo data rollback l'annule)")
        return 0
    if args.to is not None:
        raise DataError("--to ne sert qu'avec le magasin partagé (PostgreSQL) : un GeoPackage garde un seul état "
                        "précédent")
    store.rollback()
    print(f"Magasin restauré à son état précédent : {store.path}")
    print("(une nouvelle commande cq-geo data rollback annule ce retour)")
    return 0


def _history(args) -> int:
    from ..data.store import open_store

    store = open_store(args.store, create=False, territory_file=args.territory_file)
    rows = store.history(args.code)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for r in rows:
        state = f"état {r['change']} " if "change" in r else ""
        who = r.get("author") or ""
        if r.get("db_user") and r["db_user"] != who:
            who += f" (compte {r['db_user']})"
        print(f"{r['at']}  {state}{r['layer']:<8} {r['code']:<28} {r['action']:<12} {r['status']:<12} {who}"
              + (f" — {r['description']}" if r.get("description") else ""))
    if not rows:
        print("aucune modification enregistrée" + (f" pour {args.code}" if args.code else ""))
    return 0


def _init_shared(args) -> int:
    from ..data.pgstore import init_shared, init_shared_text, is_shared
    from ..errors import DataError

    if not is_shared(args.url):
        raise DataError(f"adresse PostgreSQL attendue (postgresql://utilisateur@serveur/base ou service=NOM), "
                        f"reçu : {args.url!r}")
    print(init_shared_text(init_shared(args.url, territory_file=args.territory_file, upgrade=args.upgrade)))
    return 0


def _pull(args) -> int:
    from ..data.pgstore import is_shared, pull
    from ..errors import DataError

    if not is_shared(args.url):
        raise DataError(f"adresse PostgreSQL attendue (postgresql://utilisateur@serveur/base ou service=NOM), "
                        f"reçu : {args.url!r}")
    from ..geocode.ban_index import shared_index_copier

    rep = pull(args.url, args.store, territory_file=args.territory_file,
               also=shared_index_copier(args.url, territory_file=args.territory_file))  # and the BAN index
    print(f"Copie de {rep['from']} (schéma {rep['schema']}, état {rep['state']} du {rep['state_at']}) dans {rep['to']}")
    for layer, c in rep["layers"].items():
        changed = ", ".join(f"{label} : {', '.join(v)}" for label, v in (("ajoutées", c["added"]),
                            ("remplacées", c["replaced"]), ("retirées", c["removed"])) if v)
        print(f"- {layer} : {c['features']} entité(s)" + (f" ({changed})" if changed else ""))
    ban = rep.get("also")
    print(f"- index BAN : {ban['numbers']} adresses, {ban['streets']} voies ({ban['source']}, importé le "
          f"{ban['imported_at']})" if ban else "- index BAN : absent du magasin partagé (copie locale inchangée)")
    print("Les réponses utilisent maintenant cette copie, sans réseau ; cq-geo data status dit son âge.")
    return 0


#: name → (help text, add_arguments(parser), run(args) -> exit code)
COMMANDS = {
    "data": ("magasin de données : état, mise à jour, imports, validation, retour arrière", _add_arguments, _run),
}
