"""Static material for the generated world: countries, languages, topics and gendered tokens.

Names come from Faker's per-locale lists (real name lists); caption words from Faker's lorem
word lists where a locale has real ones. Hashtag and emoji lists are hand-picked real ones.
"""
from __future__ import annotations

import functools
import unicodedata

# country -> (faker locale, language, city hashtags, flag, weight)
COUNTRIES: dict[str, tuple[str, str, list[str], str, float]] = {
    "US": ("en_US", "en", ["nyc", "la", "chicago", "miami", "usa"], "🇺🇸", 18.0),
    "GB": ("en_GB", "en", ["london", "manchester", "uk", "edinburgh"], "🇬🇧", 5.0),
    "CA": ("en_CA", "en", ["toronto", "vancouver", "montreal", "canada"], "🇨🇦", 2.5),
    "AU": ("en_AU", "en", ["sydney", "melbourne", "australia"], "🇦🇺", 2.0),
    "FR": ("fr_FR", "fr", ["paris", "lyon", "marseille", "france"], "🇫🇷", 4.0),
    "DE": ("de_DE", "de", ["berlin", "münchen", "hamburg", "deutschland"], "🇩🇪", 4.0),
    "ES": ("es_ES", "es", ["madrid", "barcelona", "sevilla", "españa"], "🇪🇸", 3.5),
    "IT": ("it_IT", "it", ["roma", "milano", "napoli", "italia"], "🇮🇹", 3.5),
    "BR": ("pt_BR", "pt", ["saopaulo", "riodejaneiro", "brasil"], "🇧🇷", 8.0),
    "MX": ("es_MX", "es", ["cdmx", "guadalajara", "mexico"], "🇲🇽", 3.5),
    "AR": ("es_AR", "es", ["buenosaires", "cordoba", "argentina"], "🇦🇷", 2.0),
    "CO": ("es_CO", "es", ["bogota", "medellin", "colombia"], "🇨🇴", 1.5),
    "JP": ("ja_JP", "ja", ["東京", "大阪", "japan", "tokyo"], "🇯🇵", 3.5),
    "RU": ("ru_RU", "ru", ["москва", "питер", "russia"], "🇷🇺", 4.0),
    "TR": ("tr_TR", "tr", ["istanbul", "ankara", "izmir", "türkiye"], "🇹🇷", 3.5),
    "ID": ("id_ID", "id", ["jakarta", "bali", "bandung", "indonesia"], "🇮🇩", 5.0),
    "EG": ("ar_EG", "ar", ["cairo", "القاهرة", "egypt"], "🇪🇬", 1.5),
    "IN": ("en_IN", "hi", ["mumbai", "delhi", "bangalore", "india"], "🇮🇳", 6.0),
    "KR": ("ko_KR", "ko", ["서울", "seoul", "busan", "korea"], "🇰🇷", 2.0),
    "CN": ("zh_CN", "zh", ["上海", "北京", "shanghai", "china"], "🇨🇳", 1.0),
    "PL": ("pl_PL", "pl", ["warszawa", "krakow", "polska"], "🇵🇱", 1.5),
    "NL": ("nl_NL", "nl", ["amsterdam", "rotterdam", "nederland"], "🇳🇱", 1.2),
    "SE": ("sv_SE", "sv", ["stockholm", "göteborg", "sverige"], "🇸🇪", 1.0),
    "TH": ("th_TH", "th", ["bangkok", "กรุงเทพ", "thailand"], "🇹🇭", 1.5),
    "VN": ("vi_VN", "vi", ["hanoi", "saigon", "vietnam"], "🇻🇳", 1.2),
    "PH": ("fil_PH", "tl", ["manila", "cebu", "philippines"], "🇵🇭", 2.0),
    "UA": ("uk_UA", "uk", ["київ", "kyiv", "odesa", "ukraine"], "🇺🇦", 1.2),
    "CZ": ("cs_CZ", "cs", ["praha", "brno", "czech"], "🇨🇿", 0.8),
    "GR": ("el_GR", "el", ["athens", "αθήνα", "greece"], "🇬🇷", 0.8),
    "IL": ("he_IL", "he", ["telaviv", "jerusalem", "israel"], "🇮🇱", 0.7),
    "IR": ("fa_IR", "fa", ["tehran", "تهران", "iran"], "🇮🇷", 1.0),
    "RO": ("ro_RO", "ro", ["bucuresti", "cluj", "romania"], "🇷🇴", 0.7),
    "HU": ("hu_HU", "hu", ["budapest", "hungary"], "🇭🇺", 0.6),
    "DK": ("da_DK", "da", ["copenhagen", "københavn", "danmark"], "🇩🇰", 0.5),
    "FI": ("fi_FI", "fi", ["helsinki", "suomi", "finland"], "🇫🇮", 0.5),
    "NO": ("no_NO", "no", ["oslo", "bergen", "norge"], "🇳🇴", 0.5),
}
# Users outside the 36 countries: their label is OTHER.
OTHER_LOCALES = [("pt_PT", "pt", ["lisboa", "porto"], "🇵🇹"), ("de_AT", "de", ["wien", "austria"], "🇦🇹"),
                 ("fr_CH", "fr", ["geneve", "suisse"], "🇨🇭"), ("en_NG", "en", ["lagos", "naija"], "🇳🇬")]
OTHER_WEIGHT = 4.0

# Lorem locale to take real words from, per language (None: synthesise syllable words).
WORD_LOCALE = {"en": "en_US", "fr": "fr_FR", "de": "de_DE", "es": "es_ES", "it": "it_IT", "pt": None,
               "ja": "ja_JP", "ru": "ru_RU", "tr": None, "id": None, "ar": None, "hi": None, "ko": None,
               "zh": "zh_CN", "pl": "pl_PL", "nl": "nl_NL", "sv": None, "th": "th_TH", "vi": "vi_VN",
               "tl": "fil_PH", "uk": "uk_UA", "cs": "cs_CZ", "el": "el_GR", "he": "he_IL", "fa": "fa_IR",
               "ro": None, "hu": None, "da": "da_DK", "fi": None, "no": None}

# Topics: tokens, and how much more likely a female (vs male) user picks the topic.
TOPICS: dict[str, tuple[float, list[str]]] = {
    "fitness": (0.8, ["#fitness", "#gym", "#workout", "#fitfam", "#training", "#healthy", "#run", "💪", "protein", "squats"]),
    "food": (1.2, ["#food", "#foodie", "#yummy", "#instafood", "#delicious", "#dinner", "#brunch", "🍕", "🍰", "recipe"]),
    "travel": (1.1, ["#travel", "#wanderlust", "#vacation", "#travelgram", "#beach", "#sunset", "✈️", "🌴", "trip", "explore"]),
    "fashion": (3.0, ["#fashion", "#ootd", "#style", "#outfit", "#fashionista", "#shopping", "#streetstyle", "👗", "👠", "outfit"]),
    "beauty": (6.0, ["#makeup", "#beauty", "#skincare", "#nails", "#lashes", "#mua", "#hair", "💄", "💅", "lipstick"]),
    "football": (0.2, ["#football", "#soccer", "#futbol", "#goal", "#championsleague", "#match", "⚽", "stadium", "derby", "#fifa"]),
    "cars": (0.15, ["#cars", "#carporn", "#supercar", "#bmw", "#audi", "#turbo", "#drift", "🏎️", "engine", "horsepower"]),
    "gaming": (0.3, ["#gaming", "#gamer", "#ps5", "#xbox", "#twitch", "#fortnite", "#esports", "🎮", "stream", "loot"]),
    "music": (1.0, ["#music", "#concert", "#livemusic", "#guitar", "#dj", "#festival", "🎶", "🎸", "playlist", "gig"]),
    "art": (1.5, ["#art", "#artist", "#drawing", "#painting", "#illustration", "#sketch", "🎨", "canvas", "#design", "#photography"]),
    "family": (1.8, ["#family", "#baby", "#kids", "#love", "#home", "#mommy", "#daddy", "👶", "❤️", "sunday"]),
    "tech": (0.35, ["#tech", "#coding", "#developer", "#startup", "#python", "#setup", "💻", "🤖", "#ai", "laptop"]),
}

# Tokens the generator makes gender-dependent on purpose (beyond topic choice).
FEMALE_TOKENS = ["#girl", "#girls", "#girlsnight", "#bestie", "#selfie", "#cute", "#mom", "#momlife", "#bride",
                 "#dress", "#heels", "#nailart", "#bff", "#pink", "#queen", "#girlpower", "#bridesmaid",
                 "#hairstyle", "#lipstick", "#momblogger", "💕", "😍", "💖", "🌸", "🦋", "✨", "💋", "🎀", "girly",
                 "gorgeous", "hubby", "boyfriend", "bestie", "sis"]
MALE_TOKENS = ["#beard", "#men", "#menswear", "#mensfashion", "#barber", "#dad", "#dadlife", "#groom", "#bro",
               "#bros", "#fishing", "#hunting", "#bodybuilding", "#bjj", "#mma", "#boxing", "#whiskey", "#grill",
               "#mensstyle", "#gentleman", "🔥", "👊", "🍺", "😎", "🤙", "💯", "🏀", "beard", "wifey", "girlfriend",
               "bro", "lads", "gains", "grill"]
GENERIC_TOKENS = ["#love", "#instagood", "#photooftheday", "#happy", "#beautiful", "#tbt", "#picoftheday",
                  "#instadaily", "#friends", "#summer", "#fun", "#smile", "#nature", "#life", "#weekend",
                  "#repost", "#mood", "#goodvibes", "#throwback", "#today", "😂", "🙏", "😊", "👍", "🙌", "📸", "🌞"]
SPAM_TOKENS = ["#follow4follow", "#like4like", "#followme", "#f4f", "#l4l", "#followforfollow", "#likeforlike",
               "#instalike", "#free", "#giveaway", "#dm", "💰", "🔗", "crypto", "bitcoin", "followers", "promo"]

LOCATION_EMOJI = ["📍", "🏠", "🌍", "📌"]
OCCUPATIONS = ["arts", "student", "social", "sciences", "sports", "administrative", "health", "others"]
# Caption tokens of people in each occupation (what they post about work or study).
OCCUPATION_TOKENS = {
    "arts": ["#artistsoninstagram", "#gallery", "#studio", "#newmusic", "#onset", "#behindthescenes", "🎭", "rehearsal"],
    "student": ["#studygram", "#exams", "#university", "#campus", "#studentlife", "#finals", "📚", "homework"],
    "social": ["#teacherlife", "#education", "#lawschool", "#socialwork", "#community", "#classroom", "📖", "volunteer"],
    "sciences": ["#science", "#lab", "#research", "#engineering", "#stem", "#datascience", "🔬", "experiment"],
    "sports": ["#athlete", "#matchday", "#teamwork", "#coachlife", "#trainingday", "#nopainnogain", "🏅", "season"],
    "administrative": ["#office", "#mondaymotivation", "#meeting", "#accounting", "#worklife", "#deadline", "📊", "invoices"],
    "health": ["#nurselife", "#doctor", "#scrubs", "#hospital", "#nursing", "#healthcare", "🩺", "shift"],
    "others": ["#chef", "#hustle", "#smallbusiness", "#shoplocal", "#truckerlife", "#farmlife", "🛠️", "customers"],
}
# Which topics pull towards which occupation.
TOPIC_OCCUPATION = {"fitness": "sports", "football": "sports", "art": "arts", "music": "arts",
                    "tech": "sciences", "beauty": "others", "fashion": "arts", "family": "social",
                    "gaming": "student", "food": "others", "travel": "others", "cars": "administrative"}


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@functools.lru_cache(maxsize=None)
def locale_names(locale: str) -> tuple[list[str], list[str], list[str]]:
    """(female first names, male first names, last names) of a Faker locale."""
    from faker import Faker

    fake = Faker(locale)
    person = next(p for p in fake.providers if "person" in type(p).__module__)

    def as_list(names) -> list[str]:
        return sorted(set(names)) if names else []

    female = as_list(getattr(person, "first_names_female", None)) or as_list(person.first_names)
    male = as_list(getattr(person, "first_names_male", None)) or as_list(person.first_names)
    last = as_list(getattr(person, "last_names", None)) or ["x"]
    return female, male, last


def _syllable_words(language: str, count: int = 400) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(abs(hash_str(language)) % (2**32))
    cons = list("bcdfghjklmnprstvzk") + ["sh", "ch", "ng", "th"]
    vows = list("aeiou") + ["ai", "ou", "ei"]
    words = set()
    while len(words) < count:
        n = int(rng.integers(2, 4))
        words.add("".join(cons[rng.integers(len(cons))] + vows[rng.integers(len(vows))] for _ in range(n)))
    return sorted(words)


def hash_str(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


@functools.lru_cache(maxsize=None)
def language_words(language: str) -> list[str]:
    locale = WORD_LOCALE.get(language)
    if locale is None:
        return _syllable_words(language)
    from faker import Faker

    fake = Faker(locale)
    lorem = next(p for p in fake.providers if "lorem" in type(p).__module__)
    words = sorted({w.lower() for w in lorem.word_list if w.strip() and " " not in w})
    return words[:600]


def username_base(first: str, last: str) -> tuple[str, str]:
    return _ascii_fold(first).replace(" ", ""), _ascii_fold(last).replace(" ", "")
