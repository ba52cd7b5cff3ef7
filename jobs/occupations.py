"""Occupations as people state them in bios, and the one table that maps them to MEX-A3T's classes.

Job titles are Faker's per-locale `job()` lists (the languages that have one; English elsewhere);
study statements ("estudiante de derecho", "étudiante en médecine", "Informatik Studentin") are
the student class. A title belongs to the class whose stems prefix one of its (case- and
accent-folded) words; a title matching no stem is `others`; one matching stems of two classes
is ambiguous. The sample-world generator writes these titles, and the `stated_occupation`
labeller finds them again.
"""
from __future__ import annotations

import functools
import re
import unicodedata

# Language -> the Faker locale whose job titles its users write.
JOB_LOCALE = {"en": "en_US", "fr": "fr_FR", "de": "de_DE", "es": "es_ES", "pt": "pt_BR", "ru": "ru_RU",
              "tr": "tr_TR", "pl": "pl_PL", "ja": "ja_JP"}

# The table: class -> word stems (folded) that put a title in it, in the languages above.
CLASS_STEMS: dict[str, tuple[str, ...]] = {
    "health": ("nurse", "nursing", "doctor", "physician", "surgeon", "therapist", "dentist", "dental", "pharmac",
               "medic", "paramedic", "midwife", "psychiatr", "optometr", "radiograph", "physiotherap", "clinical",
               "veterinar", "hospital", "health", "infirmi", "chirurg", "kinesi", "orthophon", "sage-femme",
               "enfermer", "odontolog", "farmac", "fisioterap", "arzt", "pfleg", "apothek", "hebamme", "zahn", "krankenschwester", "altenpfleg",
               "врач", "медсестр", "медбрат", "фельдшер", "хирург", "фармацевт", "провизор", "стоматолог",
               "hemsire", "doktor", "eczaci", "hekim", "dis hek", "pielegniar", "lekarz", "farmaceut",
               "医師", "看護", "薬剤師", "歯科"),
    "arts": ("artist", "actor", "actress", "musician", "singer", "designer", "photograph", "dancer", "painter",
             "illustrat", "animator", "sculpt", "composer", "film", "choreograph", "artiste", "acteur", "actrice",
             "musicien", "chanteu", "danseu", "peintre", "dessinat", "comedien", "actriz", "musico", "cantante",
             "fotograf", "bailar", "pintor", "disenad", "escultor", "kunstler", "musiker", "sanger", "tanzer",
             "maler", "художник", "актер", "актрис", "музыкант", "певец", "певиц", "дизайнер", "танцор",
             "sanatci", "oyuncu", "muzisyen", "ressam", "aktor", "muzyk", "grafik", "tancer", "malarz",
             "アーティスト", "デザイナー", "俳優", "歌手", "アニメーター", "イラストレーター", "声優", "漫画家"),
    "sports": ("athlete", "coach", "footballer", "sports", "fitness", "athlet", "entraineu", "sportif", "joueur",
               "entrenador", "atleta", "deportista", "futbolista", "sportler", "fussball", "тренер", "спортсмен",
               "футболист", "antrenor", "sporcu", "futbolcu", "trener", "sportowiec", "スポーツ", "選手"),
    "sciences": ("scientist", "engineer", "chemist", "physicist", "biolog", "mathematic", "geolog", "research",
                 "developer", "programmer", "software", "astronom", "ingenieu", "chercheu", "chimiste", "physicien",
                 "informatic", "developpeu", "ingeniero", "cientific", "quimic", "fisico", "investigador",
                 "programador", "wissenschaftler", "informatiker", "chemik", "mathematik", "programmier", "инженер", "ученый", "программист",
                 "химик", "физик", "биолог", "muhendis", "bilim", "kimyager", "fizikci", "programci", "inzynier",
                 "naukow", "programista", "エンジニア", "研究者", "プログラマー"),
    "administrative": ("accountant", "administrat", "secretary", "clerk", "receptionist", "banker", "auditor",
                       "bookkeep", "payroll", "manager", "comptable", "secretaire", "contable", "secretari", "administrativ",
                       "buchhalter", "sekretar", "kaufmann", "bankkaufm", "verwaltung", "бухгалтер", "секретар", "администратор",
                       "muhasebe", "sekreter", "ksiegow", "事務", "秘書"),
    "social": ("teacher", "lawyer", "solicitor", "barrister", "psycholog", "sociolog", "social", "counsel",
               "journalist", "librarian", "historian", "economist", "politic", "lecturer", "educat", "enseignant",
               "professeu", "avocat", "journaliste", "maestr", "profesor", "abogad", "periodista", "lehrer", "erzieher",
               "anwalt", "journalist", "учитель", "преподават", "юрист", "адвокат", "журналист", "ogretmen",
               "avukat", "gazeteci", "nauczyciel", "prawnik", "dziennikarz", "教師", "弁護士", "記者"),
}
# What a study statement looks like, per language: the keywords that make a bio segment the
# student class, and the forms the generator writes them in.
STUDENT_WORDS = ("student", "studentin", "studente", "studentessa", "estudiante", "estudante", "etudiant",
                 "etudiante", "studying", "студент", "студентка", "ogrencisi", "studentka", "学生")
STUDY_FORMS = {
    "en": ("student of {field}", "{field} student", "studying {field}"),
    "fr": ("étudiant en {field}", "étudiante en {field}"),
    "de": ("Student der {field}", "Studentin der {field}", "{field} Studentin"),
    "es": ("estudiante de {field}",),
    "pt": ("estudante de {field}",),
    "it": ("studente di {field}", "studentessa di {field}"),
    "ru": ("студент {field}", "студентка {field}"),
    "tr": ("{field} öğrencisi",),
    "pl": ("student {field}", "studentka {field}"),
}
STUDY_FIELDS = {
    "en": ("law", "history", "economics", "architecture", "literature", "philosophy"),
    "fr": ("droit", "histoire", "économie", "architecture", "lettres", "philosophie"),
    "de": ("Geschichte", "Wirtschaft", "Architektur", "Philosophie", "Germanistik"),
    "es": ("derecho", "historia", "economía", "arquitectura", "letras", "filosofía"),
    "pt": ("direito", "história", "economia", "arquitetura", "letras", "filosofia"),
    "it": ("giurisprudenza", "storia", "economia", "architettura", "lettere", "filosofia"),
    "ru": ("МГУ", "СПбГУ", "истфака", "экономфака"),
    "tr": ("hukuk", "tarih", "ekonomi", "mimarlık", "felsefe"),
    "pl": ("prawa", "historii", "ekonomii", "architektury", "filozofii"),
}
# Where one statement ends and the next begins in a bio.
SEGMENT_SPLIT = re.compile(r"[|•·;\n]+|\s[-–—]\s")
WORD = re.compile(r"\w+(?:-\w+)*")
MAX_TITLE_WORDS = 16
AMBIGUOUS = "?"


def fold(text: str) -> str:
    """Lower case without accents (é -> e, ö -> o, й -> и); scripts without Latin letters kept."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def words_of(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(fold(text)))


def title_class(title: str) -> str:
    """The title's class by the table: one class, `others` (no stem), or AMBIGUOUS (two classes)."""
    words = words_of(title)
    text = " ".join(words)
    found = {c for c, stems in CLASS_STEMS.items()
             for s in stems if (" " in s and s in text) or any(w.startswith(s) for w in words)}
    if any(w in STUDENT_WORDS for w in words):
        found.add("student")
    return found.pop() if len(found) == 1 else ("others" if not found else AMBIGUOUS)


@functools.lru_cache(maxsize=None)
def locale_titles(locale: str) -> tuple[str, ...]:
    import importlib

    return tuple(sorted(set(importlib.import_module(f"faker.providers.job.{locale}").Provider.jobs)))


@functools.lru_cache(maxsize=None)
def titles_by_class(language: str) -> dict[str, tuple[str, ...]]:
    """The language's job titles per class (and AMBIGUOUS), in a stable order."""
    out: dict[str, list[str]] = {}
    for title in locale_titles(JOB_LOCALE.get(language, "en_US")):
        out.setdefault(title_class(title), []).append(title)
    return {c: tuple(t) for c, t in out.items()}


@functools.lru_cache(maxsize=1)
def gazetteer() -> dict[tuple[str, ...], str]:
    """Every known title (folded words) -> its class, over all the job locales."""
    table: dict[tuple[str, ...], str] = {}
    for locale in sorted(set(JOB_LOCALE.values())):
        for title in locale_titles(locale):
            words = words_of(title)
            if words and len(words) <= MAX_TITLE_WORDS:
                cls = title_class(title)
                table[words] = cls if table.get(words, cls) == cls else AMBIGUOUS
    return table


def stated_occupations(bio: str | None) -> list[tuple[str, str]]:
    """(class, statement) of every occupation stated in a bio: study statements, then the longest
    known titles in the other segments (a word is read once)."""
    found: list[tuple[str, str]] = []
    table = gazetteer()
    for segment in SEGMENT_SPLIT.split(bio or ""):
        words = words_of(segment)
        if not words:
            continue
        if any(w in STUDENT_WORDS for w in words):
            found.append(("student", " ".join(words)))
            continue
        i = 0
        while i < len(words):
            for n in range(min(MAX_TITLE_WORDS, len(words) - i), 0, -1):
                cls = table.get(words[i:i + n])
                if cls is not None:
                    found.append((cls, " ".join(words[i:i + n])))
                    i += n
                    break
            else:
                i += 1
    return found


def bio_label(bio: str | None) -> tuple[str, str | None, str | None]:
    """(status, class, evidence) of one bio: labelled; no_statement; ambiguous (a title of two
    classes); several (statements of different classes)."""
    found = stated_occupations(bio)
    if not found:
        return "no_statement", None, None
    evidence = " | ".join(s for _, s in found)
    classes = {c for c, _ in found}
    if AMBIGUOUS in classes:
        return "ambiguous", None, evidence
    if len(classes) > 1:
        return "several", None, evidence
    return "labelled", classes.pop(), evidence
