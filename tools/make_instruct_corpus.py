#!/usr/bin/python3
"""make_instruct_corpus.py -- the synthetic instruction corpus of stargate's default model.

Everything here is written by the project: hand-written templates (many phrasings per intent
and language) filled from data tables in this file. No data set is read, nothing is
downloaded; standard library only. The output depends only on the arguments: the same --seed
gives byte-identical files.

    /usr/bin/python3 tools/make_instruct_corpus.py --out data/instruct [--seed 1]
        [--examples 60000] [--pretrain-mb 8] [--val-fraction 0.02] [--meta] [--system-prompts DIR]
        [--deployment-language user|deployment]

Languages: French (fr), English (en), German (de), balanced. Categories (balanced by weight):
  smalltalk  greetings, how are you, thanks, goodbye, who are you, what can you do ...
  stargate   help about stargate itself: info, generate, chat, serve, the HTTP API, pull,
             deployments (tenants) and keys, tokenizer train, data prepare, train, finetune,
             build, formats, architectures (accurate to README.md)
  country    capital, language(s), currency and continent of 53 countries, names translated
             (Allemagne / Germany / Deutschland), reverse capital questions, short summaries
  arith      addition and subtraction of 0..20, multiplication 0..10 x 0..10, exact division
  units      km<->miles, kg<->lb, °C<->°F, m<->feet, liters<->US gallons for a fixed set of values
             (rounded half up to 0.01 below 10, else 0.1)
  dates      weekday n days after a weekday, month after a month, date formats per locale
             (22/11/2026, 11/22/2026, 22.11.2026, 2026-11-22), days in a month, leap years
Every computed answer comes from datetime / exact decimal arithmetic. The fact domains are closed
(every fact is asked in training); the held-out set asks them in phrasings training never uses.

Language rule taught: the assistant answers in the language of the user's message, unless a
system prompt orders a language ("Réponds toujours en français." -- a French deployment);
then it answers in that language whatever the question's language. With --system-prompts DIR
(deployment profiles, deployments/*.json), 30 % (--system-prompts-share) of the conversations
start with the exact system message the server prepends for one of them (system_prompt, blank line, guidance); the
assistant answers in the user's language as those prompts ask, or with --deployment-language
deployment in the deployment's language (fr/en/de; another, such as ar, keeps the user's).

Outputs in --out:
  sft.jsonl          {"messages": [{"role": "system"?}, {"role": "user"}, {"role": "assistant"}, ...]}
                     per line, single- and multi-turn; input of `stargate finetune` (sft_data)
  sft.val.jsonl      held-out conversations (about --val-fraction): their questions use held-out
                     phrasings (qchoice), and one whose first question text also occurs in sft.jsonl
                     is dropped (stats.json "val_dropped"), so no first question is shared
  pretrain.txt       the same knowledge as plain text paragraphs (facts, Q&A, dialogues, docs)
                     separated by blank lines, about --pretrain-mb MB; for `stargate tokenizer
                     train` and `stargate data prepare` (--format text)
  pretrain.val.txt   held-out paragraphs
  pretrain.jsonl     with --pretrain-jsonl: the paragraphs as {"text": ...} lines (one document
                     each, so `stargate data prepare` puts EOS between them)
  stats.json         counts per language / category / intent, turns, system prompts, bytes
  sft.meta.jsonl     with --meta: one line per sft.jsonl line: language, category, intent of
                     each turn (used by tests/corpus/test_corpus.py)
"""
import argparse
import calendar
import datetime
import hashlib
import json
import os
import random
import sys
from decimal import Decimal, ROUND_HALF_UP

LANGS = ("fr", "en", "de")


def cap1(s):
    return s[:1].upper() + s[1:] if s else s


# ----------------------------------------------------------------------------- numbers

def fmt_int(n, lang):
    s = "{:,}".format(abs(n))
    if lang == "fr":
        s = s.replace(",", " ")
    elif lang == "de":
        s = s.replace(",", ".")
    return ("-" if n < 0 else "") + s


def fmt_dec(x, lang, places=1):
    """Decimal x rounded half-up to `places`, trailing zeros dropped, the language's separators."""
    q = Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == q.to_integral_value():
        return fmt_int(int(q), lang)
    sign = "-" if q < 0 else ""
    q = abs(q)
    whole = int(q)
    frac = str(q).split(".")[1].rstrip("0")
    return sign + fmt_int(whole, lang) + ("," if lang in ("fr", "de") else ".") + frac


def round_dec(x, places=1):
    return Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def join_list(items, lang):
    if len(items) == 1:
        return items[0]
    word = {"fr": " et ", "en": " and ", "de": " und "}[lang]
    return ", ".join(items[:-1]) + word + items[-1]


# ----------------------------------------------------------------------------- held-out paraphrases
# Every list of question templates with 5 or more phrasings keeps its last fifth (at least one)
# for the validation conversations only: sft.val.jsonl asks the facts the model was trained on
# (the domains below are closed: every country, sum, conversion and date question is in the
# training set) in phrasings it never saw. Shorter lists (small talk) are shared.

def qchoice(rng, templates, ctx):
    n = len(templates)
    k = max(1, n // 5) if n >= 5 else 0
    if ctx.get("val") and k:
        return rng.choice(templates[n - k:])
    return rng.choice(templates[:n - k])


# ----------------------------------------------------------------------------- countries
# Official languages and currencies as of 2025; countries whose capital, official language or
# currency is disputed or recently changed are left out on purpose.

LANGUAGES = {  # id: (fr with article, en, de)
    "fr": ("le français", "French", "Französisch"), "en": ("l'anglais", "English", "Englisch"),
    "de": ("l'allemand", "German", "Deutsch"), "it": ("l'italien", "Italian", "Italienisch"),
    "es": ("l'espagnol", "Spanish", "Spanisch"), "pt": ("le portugais", "Portuguese", "Portugiesisch"),
    "nl": ("le néerlandais", "Dutch", "Niederländisch"), "lb": ("le luxembourgeois", "Luxembourgish", "Luxemburgisch"),
    "rm": ("le romanche", "Romansh", "Rätoromanisch"), "ga": ("l'irlandais", "Irish", "Irisch"),
    "pl": ("le polonais", "Polish", "Polnisch"), "cs": ("le tchèque", "Czech", "Tschechisch"),
    "sk": ("le slovaque", "Slovak", "Slowakisch"), "hu": ("le hongrois", "Hungarian", "Ungarisch"),
    "ro": ("le roumain", "Romanian", "Rumänisch"), "el": ("le grec", "Greek", "Griechisch"),
    "hr": ("le croate", "Croatian", "Kroatisch"), "sl": ("le slovène", "Slovene", "Slowenisch"),
    "sr": ("le serbe", "Serbian", "Serbisch"), "sv": ("le suédois", "Swedish", "Schwedisch"),
    "no": ("le norvégien", "Norwegian", "Norwegisch"), "da": ("le danois", "Danish", "Dänisch"),
    "fi": ("le finnois", "Finnish", "Finnisch"), "is": ("l'islandais", "Icelandic", "Isländisch"),
    "et": ("l'estonien", "Estonian", "Estnisch"), "lv": ("le letton", "Latvian", "Lettisch"),
    "lt": ("le lituanien", "Lithuanian", "Litauisch"), "uk": ("l'ukrainien", "Ukrainian", "Ukrainisch"),
    "ru": ("le russe", "Russian", "Russisch"), "tr": ("le turc", "Turkish", "Türkisch"),
    "mt": ("le maltais", "Maltese", "Maltesisch"), "sq": ("l'albanais", "Albanian", "Albanisch"),
    "mk": ("le macédonien", "Macedonian", "Mazedonisch"), "be": ("le biélorusse", "Belarusian", "Belarussisch"),
    "ka": ("le géorgien", "Georgian", "Georgisch"), "hy": ("l'arménien", "Armenian", "Armenisch"),
    "az": ("l'azerbaïdjanais", "Azerbaijani", "Aserbaidschanisch"), "cnr": ("le monténégrin", "Montenegrin", "Montenegrinisch"),
    "ca": ("le catalan", "Catalan", "Katalanisch"), "gn": ("le guarani", "Guarani", "Guaraní"),
    "ar": ("l'arabe", "Arabic", "Arabisch"), "ber": ("le berbère (amazigh)", "Berber (Amazigh)", "Berberisch (Tamazight)"),
    "sw": ("le swahili", "Swahili", "Swahili"), "am": ("l'amharique", "Amharic", "Amharisch"),
    "mg": ("le malgache", "Malagasy", "Malagasy"), "zh": ("le chinois mandarin", "Mandarin Chinese", "Hochchinesisch (Mandarin)"),
    "ja": ("le japonais", "Japanese", "Japanisch"), "ko": ("le coréen", "Korean", "Koreanisch"),
    "hi": ("l'hindi", "Hindi", "Hindi"), "ur": ("l'ourdou", "Urdu", "Urdu"),
    "bn": ("le bengali", "Bengali", "Bengalisch"), "ne": ("le népalais", "Nepali", "Nepali"),
    "th": ("le thaï", "Thai", "Thailändisch"), "vi": ("le vietnamien", "Vietnamese", "Vietnamesisch"),
    "fil": ("le filipino", "Filipino", "Filipino"), "ms": ("le malais", "Malay", "Malaiisch"),
    "ta": ("le tamoul", "Tamil", "Tamil"), "km": ("le khmer", "Khmer", "Khmer"),
    "lo": ("le lao", "Lao", "Laotisch"), "mn": ("le mongol", "Mongolian", "Mongolisch"),
    "fa": ("le persan", "Persian", "Persisch"), "ku": ("le kurde", "Kurdish", "Kurdisch"),
    "uz": ("l'ouzbek", "Uzbek", "Usbekisch"), "mi": ("le maori", "Māori", "Maori"),
}

CURRENCIES = {  # id: (fr with article, en with article, de with article)
    "EUR": ("l'euro", "the euro", "der Euro"), "USD": ("le dollar américain", "the US dollar", "der US-Dollar"),
    "GBP": ("la livre sterling", "the pound sterling", "das Pfund Sterling"),
    "CHF": ("le franc suisse", "the Swiss franc", "der Schweizer Franken"),
    "SEK": ("la couronne suédoise", "the Swedish krona", "die schwedische Krone"),
    "NOK": ("la couronne norvégienne", "the Norwegian krone", "die norwegische Krone"),
    "DKK": ("la couronne danoise", "the Danish krone", "die dänische Krone"),
    "ISK": ("la couronne islandaise", "the Icelandic króna", "die isländische Krone"),
    "CZK": ("la couronne tchèque", "the Czech koruna", "die tschechische Krone"),
    "PLN": ("le złoty", "the złoty", "der Złoty"), "HUF": ("le forint", "the forint", "der Forint"),
    "RON": ("le leu roumain", "the Romanian leu", "der rumänische Leu"),
    "RSD": ("le dinar serbe", "the Serbian dinar", "der serbische Dinar"),
    "UAH": ("la hryvnia", "the hryvnia", "die Hrywnja"), "RUB": ("le rouble russe", "the Russian ruble", "der russische Rubel"),
    "TRY": ("la livre turque", "the Turkish lira", "die türkische Lira"), "ALL": ("le lek", "the lek", "der Lek"),
    "MKD": ("le denar macédonien", "the Macedonian denar", "der mazedonische Denar"),
    "BYN": ("le rouble biélorusse", "the Belarusian ruble", "der belarussische Rubel"),
    "GEL": ("le lari", "the lari", "der Lari"), "AMD": ("le dram", "the dram", "der Dram"),
    "AZN": ("le manat azerbaïdjanais", "the Azerbaijani manat", "der Aserbaidschan-Manat"),
    "CAD": ("le dollar canadien", "the Canadian dollar", "der kanadische Dollar"),
    "MXN": ("le peso mexicain", "the Mexican peso", "der mexikanische Peso"),
    "BRL": ("le real brésilien", "the Brazilian real", "der brasilianische Real"),
    "ARS": ("le peso argentin", "the Argentine peso", "der argentinische Peso"),
    "CLP": ("le peso chilien", "the Chilean peso", "der chilenische Peso"),
    "PEN": ("le sol péruvien", "the Peruvian sol", "der peruanische Sol"),
    "COP": ("le peso colombien", "the Colombian peso", "der kolumbianische Peso"),
    "UYU": ("le peso uruguayen", "the Uruguayan peso", "der uruguayische Peso"),
    "PYG": ("le guarani", "the guaraní", "der Guaraní"), "CUP": ("le peso cubain", "the Cuban peso", "der kubanische Peso"),
    "JMD": ("le dollar jamaïcain", "the Jamaican dollar", "der Jamaika-Dollar"),
    "CRC": ("le colón costaricien", "the Costa Rican colón", "der Costa-Rica-Colón"),
    "GTQ": ("le quetzal", "the quetzal", "der Quetzal"), "DOP": ("le peso dominicain", "the Dominican peso", "der dominikanische Peso"),
    "HNL": ("le lempira", "the lempira", "der Lempira"), "NIO": ("le córdoba", "the córdoba", "der Córdoba"),
    "EGP": ("la livre égyptienne", "the Egyptian pound", "das ägyptische Pfund"),
    "MAD": ("le dirham marocain", "the Moroccan dirham", "der marokkanische Dirham"),
    "DZD": ("le dinar algérien", "the Algerian dinar", "der algerische Dinar"),
    "TND": ("le dinar tunisien", "the Tunisian dinar", "der tunesische Dinar"),
    "XOF": ("le franc CFA d'Afrique de l'Ouest", "the West African CFA franc", "der westafrikanische CFA-Franc"),
    "XAF": ("le franc CFA d'Afrique centrale", "the Central African CFA franc", "der zentralafrikanische CFA-Franc"),
    "NGN": ("le naira", "the naira", "der Naira"), "GHS": ("le cedi", "the cedi", "der Cedi"),
    "KES": ("le shilling kényan", "the Kenyan shilling", "der Kenia-Schilling"), "ETB": ("le birr", "the birr", "der Birr"),
    "TZS": ("le shilling tanzanien", "the Tanzanian shilling", "der Tansania-Schilling"),
    "UGX": ("le shilling ougandais", "the Ugandan shilling", "der Uganda-Schilling"),
    "MGA": ("l'ariary", "the ariary", "der Ariary"), "AOA": ("le kwanza", "the kwanza", "der Kwanza"),
    "MZN": ("le metical", "the metical", "der Metical"), "ZMW": ("le kwacha zambien", "the Zambian kwacha", "der sambische Kwacha"),
    "NAD": ("le dollar namibien", "the Namibian dollar", "der Namibia-Dollar"),
    "CDF": ("le franc congolais", "the Congolese franc", "der Kongo-Franc"),
    "CNY": ("le yuan (renminbi)", "the renminbi (yuan)", "der Renminbi (Yuan)"), "JPY": ("le yen", "the yen", "der Yen"),
    "KRW": ("le won sud-coréen", "the South Korean won", "der südkoreanische Won"),
    "INR": ("la roupie indienne", "the Indian rupee", "die indische Rupie"),
    "PKR": ("la roupie pakistanaise", "the Pakistani rupee", "die pakistanische Rupie"),
    "BDT": ("le taka", "the taka", "der Taka"), "NPR": ("la roupie népalaise", "the Nepalese rupee", "die nepalesische Rupie"),
    "THB": ("le baht", "the baht", "der Baht"), "VND": ("le dong", "the dong", "der Dong"),
    "PHP": ("le peso philippin", "the Philippine peso", "der philippinische Peso"),
    "MYR": ("le ringgit", "the ringgit", "der Ringgit"), "SGD": ("le dollar de Singapour", "the Singapore dollar", "der Singapur-Dollar"),
    "KHR": ("le riel", "the riel", "der Riel"), "LAK": ("le kip", "the kip", "der Kip"), "MNT": ("le tugrik", "the tögrög", "der Tögrög"),
    "SAR": ("le riyal saoudien", "the Saudi riyal", "der Saudi-Riyal"),
    "AED": ("le dirham des Émirats arabes unis", "the UAE dirham", "der VAE-Dirham"),
    "QAR": ("le riyal qatari", "the Qatari riyal", "der Katar-Riyal"),
    "JOD": ("le dinar jordanien", "the Jordanian dinar", "der jordanische Dinar"),
    "LBP": ("la livre libanaise", "the Lebanese pound", "das libanesische Pfund"),
    "IRR": ("le rial iranien", "the Iranian rial", "der iranische Rial"),
    "IQD": ("le dinar irakien", "the Iraqi dinar", "der irakische Dinar"),
    "UZS": ("le sum ouzbek", "the Uzbek som", "der usbekische Som"),
    "KWD": ("le dinar koweïtien", "the Kuwaiti dinar", "der Kuwait-Dinar"),
    "OMR": ("le rial omanais", "the Omani rial", "der omanische Rial"),
    "BHD": ("le dinar bahreïni", "the Bahraini dinar", "der Bahrain-Dinar"),
    "AUD": ("le dollar australien", "the Australian dollar", "der australische Dollar"),
    "NZD": ("le dollar néo-zélandais", "the New Zealand dollar", "der Neuseeland-Dollar"),
}

CONTINENTS = {  # id: ("in" phrase fr, en, de)
    "EU": ("en Europe", "in Europe", "in Europa"), "AS": ("en Asie", "in Asia", "in Asien"),
    "AF": ("en Afrique", "in Africa", "in Afrika"), "NA": ("en Amérique du Nord", "in North America", "in Nordamerika"),
    "SA": ("en Amérique du Sud", "in South America", "in Südamerika"),
    "CA": ("en Amérique centrale", "in Central America", "in Mittelamerika"),
    "CB": ("dans les Caraïbes", "in the Caribbean", "in der Karibik"), "OC": ("en Océanie", "in Oceania", "in Ozeanien"),
    "EUAS": ("à la fois en Europe et en Asie", "in both Europe and Asia", "sowohl in Europa als auch in Asien"),
}

# code | fr name | fr article (f la, m le, v l', p les, 0 none, 0v none + vowel) | en name | de name
# (plain, or f:/m:/n:/p: NOM|DATIVE for names with an article) | capital fr | en | de |
# languages | currency | continent ("-": transcontinental or disputed, no continent question)
COUNTRY_ROWS = """
FR|France|f|France|Frankreich|Paris|Paris|Paris|fr|EUR|EU
DE|Allemagne|v|Germany|Deutschland|Berlin|Berlin|Berlin|de|EUR|EU
IT|Italie|v|Italy|Italien|Rome|Rome|Rom|it|EUR|EU
ES|Espagne|v|Spain|Spanien|Madrid|Madrid|Madrid|es|EUR|EU
PT|Portugal|m|Portugal|Portugal|Lisbonne|Lisbon|Lissabon|pt|EUR|EU
GB|Royaume-Uni|m|the United Kingdom|n:Vereinigte Königreich|Vereinigten Königreich|Londres|London|London|en|GBP|EU
IE|Irlande|v|Ireland|Irland|Dublin|Dublin|Dublin|ga,en|EUR|EU
BE|Belgique|f|Belgium|Belgien|Bruxelles|Brussels|Brüssel|nl,fr,de|EUR|EU
NL|Pays-Bas|p|the Netherlands|p:Niederlande|Niederlanden|Amsterdam|Amsterdam|Amsterdam|nl|EUR|EU
LU|Luxembourg|m|Luxembourg|Luxemburg|Luxembourg|Luxembourg|Luxemburg|lb,fr,de|EUR|EU
CH|Suisse|f|Switzerland|f:Schweiz|Schweiz|Berne|Bern|Bern|de,fr,it,rm|CHF|EU
AT|Autriche|v|Austria|Österreich|Vienne|Vienna|Wien|de|EUR|EU
PL|Pologne|f|Poland|Polen|Varsovie|Warsaw|Warschau|pl|PLN|EU
CZ|Tchéquie|f|the Czech Republic|Tschechien|Prague|Prague|Prag|cs|CZK|EU
HU|Hongrie|f|Hungary|Ungarn|Budapest|Budapest|Budapest|hu|HUF|EU
RO|Roumanie|f|Romania|Rumänien|Bucarest|Bucharest|Bukarest|ro|RON|EU
GR|Grèce|f|Greece|Griechenland|Athènes|Athens|Athen|el|EUR|EU
HR|Croatie|f|Croatia|Kroatien|Zagreb|Zagreb|Zagreb|hr|EUR|EU
SE|Suède|f|Sweden|Schweden|Stockholm|Stockholm|Stockholm|sv|SEK|EU
NO|Norvège|f|Norway|Norwegen|Oslo|Oslo|Oslo|no|NOK|EU
DK|Danemark|m|Denmark|Dänemark|Copenhague|Copenhagen|Kopenhagen|da|DKK|EU
FI|Finlande|f|Finland|Finnland|Helsinki|Helsinki|Helsinki|fi,sv|EUR|EU
IS|Islande|v|Iceland|Island|Reykjavik|Reykjavík|Reykjavík|is|ISK|EU
UA|Ukraine|v|Ukraine|f:Ukraine|Ukraine|Kiev|Kyiv|Kiew|uk|UAH|EU
RU|Russie|f|Russia|Russland|Moscou|Moscow|Moskau|ru|RUB|EUAS
TR|Turquie|f|Turkey|f:Türkei|Türkei|Ankara|Ankara|Ankara|tr|TRY|EUAS
US|États-Unis|p|the United States|p:Vereinigten Staaten|Vereinigten Staaten|Washington|Washington, D.C.|Washington, D.C.|en|USD|NA
CA|Canada|m|Canada|Kanada|Ottawa|Ottawa|Ottawa|en,fr|CAD|NA
MX|Mexique|m|Mexico|Mexiko|Mexico|Mexico City|Mexiko-Stadt|es|MXN|NA
BR|Brésil|m|Brazil|Brasilien|Brasilia|Brasília|Brasília|pt|BRL|SA
AR|Argentine|v|Argentina|Argentinien|Buenos Aires|Buenos Aires|Buenos Aires|es|ARS|SA
CL|Chili|m|Chile|Chile|Santiago|Santiago|Santiago de Chile|es|CLP|SA
PE|Pérou|m|Peru|Peru|Lima|Lima|Lima|es|PEN|SA
CO|Colombie|f|Colombia|Kolumbien|Bogota|Bogotá|Bogotá|es|COP|SA
CU|Cuba|0|Cuba|Kuba|La Havane|Havana|Havanna|es|CUP|CB
EG|Égypte|v|Egypt|Ägypten|Le Caire|Cairo|Kairo|ar|EGP|AF
MA|Maroc|m|Morocco|Marokko|Rabat|Rabat|Rabat|ar,ber|MAD|AF
DZ|Algérie|v|Algeria|Algerien|Alger|Algiers|Algier|ar,ber|DZD|AF
TN|Tunisie|f|Tunisia|Tunesien|Tunis|Tunis|Tunis|ar|TND|AF
SN|Sénégal|m|Senegal|Senegal|Dakar|Dakar|Dakar|fr|XOF|AF
NG|Nigeria|m|Nigeria|Nigeria|Abuja|Abuja|Abuja|en|NGN|AF
KE|Kenya|m|Kenya|Kenia|Nairobi|Nairobi|Nairobi|sw,en|KES|AF
ET|Éthiopie|v|Ethiopia|Äthiopien|Addis-Abeba|Addis Ababa|Addis Abeba|am|ETB|AF
CN|Chine|f|China|China|Pékin|Beijing|Peking|zh|CNY|AS
JP|Japon|m|Japan|Japan|Tokyo|Tokyo|Tokio|ja|JPY|AS
KR|Corée du Sud|f|South Korea|Südkorea|Séoul|Seoul|Seoul|ko|KRW|AS
IN|Inde|v|India|Indien|New Delhi|New Delhi|Neu-Delhi|hi,en|INR|AS
TH|Thaïlande|f|Thailand|Thailand|Bangkok|Bangkok|Bangkok|th|THB|AS
VN|Viêt Nam|m|Vietnam|Vietnam|Hanoï|Hanoi|Hanoi|vi|VND|AS
SA|Arabie saoudite|v|Saudi Arabia|Saudi-Arabien|Riyad|Riyadh|Riad|ar|SAR|AS
AE|Émirats arabes unis|p|the United Arab Emirates|p:Vereinigten Arabischen Emirate|Vereinigten Arabischen Emiraten|Abou Dabi|Abu Dhabi|Abu Dhabi|ar|AED|AS
AU|Australie|v|Australia|Australien|Canberra|Canberra|Canberra|en|AUD|OC
NZ|Nouvelle-Zélande|f|New Zealand|Neuseeland|Wellington|Wellington|Wellington|en,mi|NZD|OC
"""


class Country:
    def __init__(self, row):
        f = row.split("|")
        if f[4][:2] in ("f:", "m:", "n:", "p:"):      # German name with article: NOM|DATIVE
            f[4] = f[4] + "|" + f[5]
            del f[5]
        (self.code, fr, art, en, de, cfr, cen, cde, langs, cur, cont) = f
        self.langs = langs.split(",")
        self.cur = cur
        self.cont = None if cont == "-" else cont
        self.capital = {"fr": cfr, "en": cen, "de": cde}
        self.plural = {"fr": art == "p", "en": False, "de": de.startswith("p:")}
        # French: nominative, "de" form, "en/au/aux/à" form
        if art == "f":
            fr_forms = ("la " + fr, "de la " + fr, "en " + fr)
        elif art == "m":
            fr_forms = ("le " + fr, "du " + fr, "au " + fr)
        elif art == "v":
            fr_forms = ("l'" + fr, "de l'" + fr, "en " + fr)
        elif art == "p":
            fr_forms = ("les " + fr, "des " + fr, "aux " + fr)
        elif art == "0":
            fr_forms = (fr, "de " + fr, "à " + fr)
        elif art == "0v":
            fr_forms = (fr, "d'" + fr, "à " + fr)
        else:
            raise ValueError(row)
        # German: nominative, accusative, "von" form, "in" form
        if de[:2] in ("f:", "m:", "n:", "p:"):
            g, rest = de[0], de[2:]
            nom, dat = rest.split("|")
            de_forms = {
                "f": ("die " + nom, "die " + nom, "von der " + dat, "in der " + dat),
                "m": ("der " + nom, "den " + nom, "vom " + dat, "im " + dat),
                "n": ("das " + nom, "das " + nom, "vom " + dat, "im " + dat),
                "p": ("die " + nom, "die " + nom, "von den " + dat, "in den " + dat),
            }[g]
        else:
            de_forms = (de, de, "von " + de, "in " + de)
        self.name = {"fr": fr_forms[0], "en": en, "de": de_forms[0]}
        self.bare = {"fr": fr, "en": en[4:] if en.startswith("the ") else en,
                     "de": de.split(":", 1)[-1].split("|")[0]}
        self.of = {"fr": fr_forms[1], "en": "of " + en, "de": de_forms[2]}
        self.inn = {"fr": fr_forms[2], "en": "in " + en, "de": de_forms[3]}
        self.acc = {"fr": fr_forms[0], "en": en, "de": de_forms[1]}

    def language_list(self, lang):
        return join_list([LANGUAGES[x][LANGS.index(lang)] for x in self.langs], lang)

    def currency(self, lang):
        return CURRENCIES[self.cur][LANGS.index(lang)]

    def continent(self, lang):
        return CONTINENTS[self.cont][LANGS.index(lang)]


COUNTRIES = [Country(r) for r in COUNTRY_ROWS.strip().split("\n")]


# ----------------------------------------------------------------------------- small talk
# intent: {"q": {lang: [...]}, "a": {lang: [...]}}; the assistant is stargate's default model.

SMALLTALK = {
    "hello": {
        "q": {
            "fr": ["Bonjour !", "Salut !", "Bonjour", "Salut, ça va ?", "Coucou !", "Bonsoir !", "Bonjour, tu es là ?",
                   "Hé, bonjour !", "Bonjour à toi !", "Salut l'assistant !", "Bonjour, j'ai une question.", "Re-bonjour !"],
            "en": ["Hello!", "Hi!", "Hello", "Hey there!", "Good morning!", "Good evening!", "Hi, are you there?",
                   "Hey!", "Hello to you!", "Hi assistant!", "Hello, I have a question.", "Hi again!"],
            "de": ["Hallo!", "Guten Tag!", "Hallo", "Hi!", "Guten Morgen!", "Guten Abend!", "Hallo, bist du da?",
                   "Servus!", "Moin!", "Hallo Assistent!", "Hallo, ich habe eine Frage.", "Grüß dich!"],
        },
        "a": {
            "fr": ["Bonjour ! Comment puis-je vous aider ?", "Bonjour ! Que puis-je faire pour vous aujourd'hui ?",
                   "Salut ! Je suis là, posez-moi votre question.", "Bonjour ! Je vous écoute."],
            "en": ["Hello! How can I help you?", "Hi! What can I do for you today?",
                   "Hello! I'm here, ask me your question.", "Hi there! I'm listening."],
            "de": ["Hallo! Wie kann ich dir helfen?", "Guten Tag! Was kann ich heute für dich tun?",
                   "Hallo! Ich bin da, stell mir deine Frage.", "Hallo! Ich höre zu."],
        },
    },
    "how_are_you": {
        "q": {
            "fr": ["Comment ça va ?", "Comment vas-tu ?", "Ça va ?", "Tu vas bien ?", "Comment allez-vous ?",
                   "Quoi de neuf ?", "Comment tu te sens aujourd'hui ?", "Ça roule ?", "Tout va bien pour toi ?",
                   "Bonjour, comment ça va ?", "Tu passes une bonne journée ?"],
            "en": ["How are you?", "How are you doing?", "How's it going?", "Are you doing well?", "What's up?",
                   "How do you feel today?", "How have you been?", "Is everything fine with you?",
                   "Hello, how are you?", "Having a good day?", "How's your day?"],
            "de": ["Wie geht's?", "Wie geht es dir?", "Wie geht es Ihnen?", "Alles gut bei dir?", "Was gibt's Neues?",
                   "Wie fühlst du dich heute?", "Geht es dir gut?", "Alles klar?", "Hallo, wie geht's dir?",
                   "Hast du einen guten Tag?", "Wie läuft's?"],
        },
        "a": {
            "fr": ["Je vais bien, merci ! Et vous ? Que puis-je faire pour vous ?",
                   "Très bien, merci de demander. Comment puis-je vous aider ?",
                   "Tout va bien, merci ! Je suis prêt à répondre à vos questions."],
            "en": ["I'm doing well, thank you! And you? What can I do for you?",
                   "Very well, thanks for asking. How can I help you?",
                   "All good, thank you! I'm ready to answer your questions."],
            "de": ["Mir geht es gut, danke! Und dir? Was kann ich für dich tun?",
                   "Sehr gut, danke der Nachfrage. Wie kann ich dir helfen?",
                   "Alles bestens, danke! Ich bin bereit für deine Fragen."],
        },
    },
    "thanks": {
        "q": {
            "fr": ["Merci !", "Merci beaucoup !", "Merci pour ton aide.", "Super, merci.", "Merci, c'est parfait.",
                   "Génial, merci !", "Je te remercie.", "Merci bien.", "C'est gentil, merci.", "Parfait, merci beaucoup !",
                   "Merci pour la réponse."],
            "en": ["Thanks!", "Thank you very much!", "Thanks for your help.", "Great, thanks.", "Thank you, that's perfect.",
                   "Awesome, thanks!", "I appreciate it.", "Thanks a lot.", "That's kind, thank you.",
                   "Perfect, thank you so much!", "Thanks for the answer."],
            "de": ["Danke!", "Vielen Dank!", "Danke für deine Hilfe.", "Super, danke.", "Danke, das ist perfekt.",
                   "Klasse, danke!", "Ich danke dir.", "Danke schön.", "Das ist nett, danke.", "Perfekt, vielen Dank!",
                   "Danke für die Antwort."],
        },
        "a": {
            "fr": ["Avec plaisir ! N'hésitez pas si vous avez d'autres questions.", "De rien, c'était un plaisir.",
                   "Je vous en prie ! Autre chose ?", "Avec plaisir, bonne journée !"],
            "en": ["You're welcome! Feel free to ask if you have other questions.", "My pleasure.",
                   "You're welcome! Anything else?", "Glad I could help, have a nice day!"],
            "de": ["Gern geschehen! Frag ruhig, wenn du noch Fragen hast.", "Bitte, gern geschehen.",
                   "Keine Ursache! Sonst noch etwas?", "Gerne, einen schönen Tag noch!"],
        },
    },
    "goodbye": {
        "q": {
            "fr": ["Au revoir !", "Salut, à plus !", "À bientôt !", "Bonne journée !", "Bonne soirée !", "À plus tard.",
                   "Je dois y aller, au revoir.", "Ciao !", "À demain !", "Bonne nuit !", "Merci et au revoir !"],
            "en": ["Goodbye!", "Bye!", "See you soon!", "Have a nice day!", "Good night!", "See you later.",
                   "I have to go, bye.", "Take care!", "See you tomorrow!", "Thanks and goodbye!", "Catch you later!"],
            "de": ["Auf Wiedersehen!", "Tschüss!", "Bis bald!", "Schönen Tag noch!", "Gute Nacht!", "Bis später.",
                   "Ich muss los, tschüss.", "Mach's gut!", "Bis morgen!", "Danke und tschüss!", "Ciao!"],
        },
        "a": {
            "fr": ["Au revoir et à bientôt !", "Bonne journée, à bientôt !", "À bientôt ! N'hésitez pas à revenir."],
            "en": ["Goodbye, see you soon!", "Have a great day, bye!", "See you! Come back any time."],
            "de": ["Auf Wiedersehen und bis bald!", "Einen schönen Tag noch, tschüss!", "Bis bald! Komm gerne wieder."],
        },
    },
    "who_are_you": {
        "q": {
            "fr": ["Qui es-tu ?", "Tu es qui ?", "Qui êtes-vous ?", "Présente-toi.", "Tu es quoi exactement ?",
                   "Es-tu un humain ?", "Tu es une IA ?", "Quel modèle es-tu ?", "Comment t'appelles-tu ?",
                   "Tu t'appelles comment ?", "Peux-tu te présenter ?", "Quel est ton nom ?"],
            "en": ["Who are you?", "What are you?", "Introduce yourself.", "What exactly are you?", "Are you a human?",
                   "Are you an AI?", "Which model are you?", "What is your name?", "What's your name?",
                   "Can you introduce yourself?", "Tell me about yourself.", "Who am I talking to?"],
            "de": ["Wer bist du?", "Was bist du?", "Wer sind Sie?", "Stell dich vor.", "Was genau bist du?",
                   "Bist du ein Mensch?", "Bist du eine KI?", "Welches Modell bist du?", "Wie heißt du?",
                   "Wie ist dein Name?", "Kannst du dich vorstellen?", "Mit wem spreche ich?"],
        },
        "a": {
            "fr": ["Je suis l'assistant par défaut de stargate, un petit modèle entraîné par stargate lui-même.",
                   "Je suis l'assistant de stargate : un petit modèle de langage entraîné par stargate lui-même. Je réponds en français, en anglais et en allemand.",
                   "Je suis une IA, l'assistant par défaut de stargate, un petit modèle entraîné par stargate lui-même."],
            "en": ["I am stargate's default assistant, a small model trained by stargate itself.",
                   "I'm the stargate assistant: a small language model trained by stargate itself. I answer in English, French and German.",
                   "I am an AI, stargate's default assistant, a small model trained by stargate itself."],
            "de": ["Ich bin der Standardassistent von stargate, ein kleines Modell, das von stargate selbst trainiert wurde.",
                   "Ich bin der stargate-Assistent: ein kleines Sprachmodell, das stargate selbst trainiert hat. Ich antworte auf Deutsch, Englisch und Französisch.",
                   "Ich bin eine KI, der Standardassistent von stargate, ein kleines Modell, das von stargate selbst trainiert wurde."],
        },
    },
    "who_made_you": {
        "q": {
            "fr": ["Qui t'a créé ?", "Qui t'a entraîné ?", "Qui t'a fabriqué ?", "D'où viens-tu ?", "Comment as-tu été entraîné ?",
                   "Qui est ton créateur ?", "Sur quelles données as-tu été entraîné ?", "Qui a fait ce modèle ?",
                   "Tu as été entraîné avec quoi ?", "Qui t'a programmé ?"],
            "en": ["Who created you?", "Who trained you?", "Who made you?", "Where do you come from?", "How were you trained?",
                   "Who is your creator?", "What data were you trained on?", "Who built this model?",
                   "What were you trained with?", "Who programmed you?"],
            "de": ["Wer hat dich erschaffen?", "Wer hat dich trainiert?", "Wer hat dich gemacht?", "Woher kommst du?",
                   "Wie wurdest du trainiert?", "Wer ist dein Schöpfer?", "Mit welchen Daten wurdest du trainiert?",
                   "Wer hat dieses Modell gebaut?", "Womit wurdest du trainiert?", "Wer hat dich programmiert?"],
        },
        "a": {
            "fr": ["J'ai été entraîné par stargate lui-même, avec `stargate train` puis `stargate finetune`, sur un corpus synthétique écrit par le projet.",
                   "C'est stargate qui m'a entraîné : son tokenizer, son pré-entraînement et son fine-tuning, sur des données écrites par le projet stargate.",
                   "Je suis le modèle par défaut de stargate, entraîné par stargate lui-même sur un corpus synthétique en français, en anglais et en allemand."],
            "en": ["I was trained by stargate itself, with `stargate train` and then `stargate finetune`, on a synthetic corpus written by the project.",
                   "stargate trained me: its tokenizer, its pretraining and its fine-tuning, on data written by the stargate project.",
                   "I am stargate's default model, trained by stargate itself on a synthetic corpus in English, French and German."],
            "de": ["Ich wurde von stargate selbst trainiert, mit `stargate train` und dann `stargate finetune`, auf einem synthetischen Korpus, den das Projekt geschrieben hat.",
                   "stargate hat mich trainiert: Tokenizer, Vortraining und Feinabstimmung, mit Daten, die das stargate-Projekt geschrieben hat.",
                   "Ich bin das Standardmodell von stargate, von stargate selbst trainiert auf einem synthetischen Korpus auf Deutsch, Englisch und Französisch."],
        },
    },
    "what_can_you_do": {
        "q": {
            "fr": ["Que sais-tu faire ?", "Qu'est-ce que tu peux faire ?", "Tu peux m'aider avec quoi ?", "À quoi sers-tu ?",
                   "Quelles questions peut-on te poser ?", "Comment peux-tu m'aider ?", "Tu sais faire quoi ?",
                   "Quels sont tes domaines ?", "De quoi es-tu capable ?", "Aide", "J'ai besoin d'aide."],
            "en": ["What can you do?", "What are you able to do?", "What can you help me with?", "What are you for?",
                   "What questions can I ask you?", "How can you help me?", "What do you know?", "What are your skills?",
                   "What are you capable of?", "Help", "I need help."],
            "de": ["Was kannst du?", "Was kannst du alles?", "Wobei kannst du mir helfen?", "Wofür bist du da?",
                   "Welche Fragen kann ich dir stellen?", "Wie kannst du mir helfen?", "Was weißt du?",
                   "Was sind deine Fähigkeiten?", "Wozu bist du fähig?", "Hilfe", "Ich brauche Hilfe."],
        },
        "a": {
            "fr": ["Je peux vous aider à utiliser stargate (charger un modèle, le servir, créer un déploiement ou une clé), donner des capitales, langues et monnaies, faire des calculs simples et convertir des unités ou des dates.",
                   "Je réponds à des questions sur stargate, sur les pays (capitales, langues, monnaies), je fais du calcul simple et des conversions d'unités et de dates.",
                   "Posez-moi des questions sur stargate, sur la géographie, l'arithmétique, les unités ou les dates. Je réponds en français, en anglais et en allemand."],
            "en": ["I can help you use stargate (load a model, serve it, create a deployment or a key), give capitals, languages and currencies, do simple arithmetic and convert units or dates.",
                   "I answer questions about stargate and about countries (capitals, languages, currencies), and I do simple arithmetic and unit and date conversions.",
                   "Ask me about stargate, geography, arithmetic, units or dates. I answer in English, French and German."],
            "de": ["Ich helfe dir mit stargate (ein Modell laden, es bereitstellen, ein Deployment oder einen Schlüssel anlegen), nenne Hauptstädte, Sprachen und Währungen, rechne einfache Aufgaben und rechne Einheiten oder Daten um.",
                   "Ich beantworte Fragen zu stargate und zu Ländern (Hauptstädte, Sprachen, Währungen) und mache einfache Rechnungen sowie Umrechnungen von Einheiten und Daten.",
                   "Frag mich zu stargate, Geografie, Rechnen, Einheiten oder Daten. Ich antworte auf Deutsch, Englisch und Französisch."],
        },
    },
    "languages": {
        "q": {
            "fr": ["Quelles langues parles-tu ?", "Tu parles anglais ?", "Tu parles allemand ?", "Parles-tu français ?",
                   "Dans quelles langues peux-tu répondre ?", "Tu comprends quelles langues ?", "Tu es multilingue ?",
                   "Je peux te parler en allemand ?", "Quelles sont tes langues ?", "Tu réponds en quelle langue ?"],
            "en": ["What languages do you speak?", "Do you speak French?", "Do you speak German?", "Do you speak English?",
                   "In which languages can you answer?", "Which languages do you understand?", "Are you multilingual?",
                   "Can I talk to you in German?", "What are your languages?", "Which language do you answer in?"],
            "de": ["Welche Sprachen sprichst du?", "Sprichst du Französisch?", "Sprichst du Englisch?", "Sprichst du Deutsch?",
                   "In welchen Sprachen kannst du antworten?", "Welche Sprachen verstehst du?", "Bist du mehrsprachig?",
                   "Kann ich mit dir Französisch sprechen?", "Was sind deine Sprachen?", "In welcher Sprache antwortest du?"],
        },
        "a": {
            "fr": ["Je parle français, anglais et allemand. Je réponds dans la langue de votre question.",
                   "Je comprends le français, l'anglais et l'allemand, et je réponds dans la langue dans laquelle vous m'écrivez.",
                   "Oui : français, anglais et allemand. Écrivez-moi dans l'une de ces langues et je répondrai dans la même."],
            "en": ["I speak English, French and German. I answer in the language of your question.",
                   "I understand English, French and German, and I reply in the language you write in.",
                   "Yes: English, French and German. Write to me in one of them and I will answer in the same one."],
            "de": ["Ich spreche Deutsch, Englisch und Französisch. Ich antworte in der Sprache deiner Frage.",
                   "Ich verstehe Deutsch, Englisch und Französisch und antworte in der Sprache, in der du schreibst.",
                   "Ja: Deutsch, Englisch und Französisch. Schreib mir in einer davon, und ich antworte in derselben."],
        },
    },
}


# ----------------------------------------------------------------------------- stargate help
# Accurate to README.md. `pull` and `admin` are the commands planned for deployments
# (per the issue: create a deployment = a tenant, and a key for it).

# Question frames: {x} is an infinitive phrase of the intent ("load a model").
HELP_FRAMES = {
    "fr": ["Comment {x} avec stargate ?", "Comment est-ce qu'on peut {x} avec stargate ?", "Quelle commande permet {dx} ?",
           "Je voudrais {x}. Comment faire ?", "Explique-moi comment {x} avec stargate.", "Avec stargate, comment {x} ?",
           "Peux-tu m'expliquer comment {x} ?", "Quelle est la commande stargate pour {x} ?", "Je veux {x}, que dois-je taper ?",
           "Comment puis-je {x} ?", "Aide-moi à {x} avec stargate.", "Comment fait-on pour {x} avec stargate ?"],
    "en": ["How do I {x} with stargate?", "How can I {x} with stargate?", "Which command lets me {x}?",
           "I want to {x}. How do I do that?", "Explain how to {x} with stargate.", "With stargate, how do I {x}?",
           "Can you tell me how to {x}?", "What is the stargate command to {x}?", "I need to {x}, what should I type?",
           "How would I {x}?", "Help me {x} with stargate.", "What's the way to {x} in stargate?"],
    "de": ["Wie kann ich mit stargate {x}?", "Wie kann man mit stargate {x}?", "Mit welchem Befehl kann ich {x}?",
           "Ich möchte {x}. Wie geht das?", "Erklär mir, wie man mit stargate {x} kann.", "Wie lässt sich mit stargate {x}?",
           "Kannst du mir sagen, wie ich {x} kann?", "Welchen stargate-Befehl brauche ich, wenn ich {x} will?",
           "Ich will {x}. Was muss ich eingeben?", "Wie soll ich {x}?", "Wie kann ich mit stargate am besten {x}?",
           "Welcher Befehl hilft mir, wenn ich {x} möchte?"],
}
# Frames naming the command: {c} is e.g. "serve".
CMD_FRAMES = {
    "fr": ["À quoi sert `stargate {c}` ?", "Que fait la commande `stargate {c}` ?", "C'est quoi stargate {c} ?",
           "Explique-moi stargate {c}.", "Comment utiliser stargate {c} ?"],
    "en": ["What does `stargate {c}` do?", "What is stargate {c} for?", "Explain stargate {c}.",
           "How do I use `stargate {c}`?", "What's the stargate {c} command?"],
    "de": ["Was macht `stargate {c}`?", "Wozu dient stargate {c}?", "Erklär mir stargate {c}.",
           "Wie benutze ich `stargate {c}`?", "Was ist der Befehl stargate {c}?"],
}

HELP = {
    "info": {
        "cmd": "info",
        "x": {"fr": ["inspecter un modèle", "voir les informations d'un modèle", "afficher l'architecture d'un modèle"],
              "en": ["inspect a model", "see what is inside a model", "show the details of a model"],
              "de": ["ein Modell untersuchen", "Informationen über ein Modell anzeigen", "die Architektur eines Modells sehen"]},
        "a": {"fr": ["Utilisez `stargate info MODEL` : il affiche l'architecture, les dimensions, les types des poids, le nombre de paramètres, le contexte et le tokenizer. MODEL est un fichier `.gguf` ou un dossier Hugging Face.",
                     "Lancez `stargate info MODEL`, où MODEL est un fichier GGUF ou un dossier safetensors de Hugging Face. Vous verrez l'architecture, le nombre de paramètres et s'il a un format de chat."],
              "en": ["Use `stargate info MODEL`: it prints the architecture, dimensions, dtypes, parameter count, context length and tokenizer. MODEL is a `.gguf` file or a Hugging Face directory.",
                     "Run `stargate info MODEL`, where MODEL is a GGUF file or a Hugging Face safetensors directory. It shows the architecture, the parameter count and whether a chat template is present."],
              "de": ["Nutze `stargate info MODEL`: Es zeigt Architektur, Dimensionen, Datentypen, Parameterzahl, Kontextlänge und Tokenizer. MODEL ist eine `.gguf`-Datei oder ein Hugging-Face-Ordner.",
                     "Starte `stargate info MODEL`, wobei MODEL eine GGUF-Datei oder ein Hugging-Face-Ordner mit safetensors ist. Du siehst die Architektur, die Parameterzahl und ob eine Chat-Vorlage vorhanden ist."]},
    },
    "generate": {
        "cmd": "generate",
        "x": {"fr": ["charger un modèle", "générer du texte", "charger un modèle et générer du texte"],
              "en": ["load a model", "generate text", "load a model and generate text"],
              "de": ["ein Modell laden", "Text generieren", "ein Modell laden und Text erzeugen"]},
        "a": {"fr": ["Donnez le modèle avec `-m` : `stargate generate -m MODEL -p \"Il était une fois\" -n 50`. MODEL est un fichier `.gguf` ou un dossier Hugging Face ; ajoutez `--temp 0.8` pour échantillonner au lieu du mode glouton.",
                     "Avec `stargate generate -m MODEL -p \"TEXTE\" -n N` : stargate charge le modèle (GGUF ou safetensors) et écrit N jetons de suite. Sans `--temp`, la génération est gloutonne."],
              "en": ["Pass the model with `-m`: `stargate generate -m MODEL -p \"Once upon a time\" -n 50`. MODEL is a `.gguf` file or a Hugging Face directory; add `--temp 0.8` to sample instead of greedy decoding.",
                     "With `stargate generate -m MODEL -p \"TEXT\" -n N`: stargate loads the model (GGUF or safetensors) and writes N tokens of continuation. Without `--temp` it is greedy."],
              "de": ["Gib das Modell mit `-m` an: `stargate generate -m MODEL -p \"Es war einmal\" -n 50`. MODEL ist eine `.gguf`-Datei oder ein Hugging-Face-Ordner; mit `--temp 0.8` wird gesampelt statt greedy.",
                     "Mit `stargate generate -m MODEL -p \"TEXT\" -n N`: stargate lädt das Modell (GGUF oder safetensors) und schreibt N Tokens Fortsetzung. Ohne `--temp` ist die Ausgabe greedy."]},
    },
    "chat": {
        "cmd": "chat",
        "x": {"fr": ["discuter avec un modèle", "ouvrir un chat dans le terminal", "parler avec un modèle"],
              "en": ["chat with a model", "open a chat in the terminal", "talk to a model"],
              "de": ["mit einem Modell chatten", "einen Chat im Terminal öffnen", "mit einem Modell sprechen"]},
        "a": {"fr": ["Lancez `stargate chat -m MODEL` (option `--system TEXTE` pour un prompt système). Dans le chat : `/reset` efface la conversation, `/save FICHIER` l'enregistre et `/exit` quitte.",
                     "`stargate chat -m MODEL` ouvre un chat interactif avec le format de conversation du modèle (ChatML s'il n'en a pas). Ctrl-C arrête la réponse en cours, Ctrl-D ou `/exit` quitte."],
              "en": ["Run `stargate chat -m MODEL` (add `--system TEXT` for a system prompt). In the chat, `/reset` clears the conversation, `/save FILE` saves it and `/exit` quits.",
                     "`stargate chat -m MODEL` opens an interactive chat using the model's own chat template (ChatML if it has none). Ctrl-C stops the current answer, Ctrl-D or `/exit` quits."],
              "de": ["Starte `stargate chat -m MODEL` (mit `--system TEXT` für einen Systemprompt). Im Chat löscht `/reset` das Gespräch, `/save DATEI` speichert es und `/exit` beendet ihn.",
                     "`stargate chat -m MODEL` öffnet einen interaktiven Chat mit der Chat-Vorlage des Modells (sonst ChatML). Strg-C stoppt die laufende Antwort, Strg-D oder `/exit` beendet."]},
    },
    "serve": {
        "cmd": "serve",
        "x": {"fr": ["servir un modèle", "lancer un serveur", "déployer un modèle derrière une API"],
              "en": ["serve a model", "start a server", "put a model behind an API"],
              "de": ["ein Modell bereitstellen", "einen Server starten", "ein Modell über eine API anbieten"]},
        "a": {"fr": ["Lancez `stargate serve -m MODEL --port 8080`. Le serveur parle l'API d'OpenAI : `POST /v1/chat/completions`, `/v1/completions`, `/v1/models`, plus `/health` et `/metrics`.",
                     "Avec `stargate serve -m MODEL` (options `--host`, `--port`, `--parallel N`, `--ctx N`). Les requêtes sont traitées par lots continus et n'importe quel client OpenAI fonctionne avec `base_url=\"http://127.0.0.1:8080/v1\"`."],
              "en": ["Run `stargate serve -m MODEL --port 8080`. The server speaks the OpenAI API: `POST /v1/chat/completions`, `/v1/completions`, `/v1/models`, plus `/health` and `/metrics`.",
                     "Use `stargate serve -m MODEL` (options `--host`, `--port`, `--parallel N`, `--ctx N`). Requests are batched continuously and any OpenAI client works with `base_url=\"http://127.0.0.1:8080/v1\"`."],
              "de": ["Starte `stargate serve -m MODEL --port 8080`. Der Server spricht die OpenAI-API: `POST /v1/chat/completions`, `/v1/completions`, `/v1/models` sowie `/health` und `/metrics`.",
                     "Mit `stargate serve -m MODEL` (Optionen `--host`, `--port`, `--parallel N`, `--ctx N`). Anfragen werden kontinuierlich gebündelt, und jeder OpenAI-Client funktioniert mit `base_url=\"http://127.0.0.1:8080/v1\"`."]},
    },
    "api": {
        "cmd": None,
        "x": {"fr": ["interroger le serveur", "envoyer une requête au serveur", "appeler l'API de chat"],
              "en": ["query the server", "send a request to the server", "call the chat API"],
              "de": ["den Server abfragen", "eine Anfrage an den Server schicken", "die Chat-API aufrufen"]},
        "a": {"fr": ["Envoyez un POST JSON à `http://127.0.0.1:8080/v1/chat/completions` avec `{\"model\": \"...\", \"messages\": [{\"role\": \"user\", \"content\": \"Bonjour\"}]}` ; ajoutez `\"stream\": true` pour recevoir la réponse jeton par jeton.",
                     "Le serveur de `stargate serve` est compatible OpenAI : utilisez `curl` sur `/v1/chat/completions` ou un client OpenAI avec `base_url=\"http://127.0.0.1:8080/v1\"`."],
              "en": ["POST JSON to `http://127.0.0.1:8080/v1/chat/completions` with `{\"model\": \"...\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]}`; add `\"stream\": true` to get the answer token by token.",
                     "The `stargate serve` server is OpenAI-compatible: use `curl` on `/v1/chat/completions` or any OpenAI client with `base_url=\"http://127.0.0.1:8080/v1\"`."],
              "de": ["Schicke ein JSON-POST an `http://127.0.0.1:8080/v1/chat/completions` mit `{\"model\": \"...\", \"messages\": [{\"role\": \"user\", \"content\": \"Hallo\"}]}`; mit `\"stream\": true` kommt die Antwort Token für Token.",
                     "Der Server von `stargate serve` ist OpenAI-kompatibel: Nutze `curl` auf `/v1/chat/completions` oder einen OpenAI-Client mit `base_url=\"http://127.0.0.1:8080/v1\"`."]},
    },
    "pull": {
        "cmd": "pull",
        "x": {"fr": ["télécharger un modèle", "récupérer un modèle depuis Hugging Face", "obtenir un fichier GGUF"],
              "en": ["download a model", "get a model from Hugging Face", "fetch a GGUF file"],
              "de": ["ein Modell herunterladen", "ein Modell von Hugging Face holen", "eine GGUF-Datei besorgen"]},
        "a": {"fr": ["Utilisez `stargate pull REPO:FICHIER`, par exemple `stargate pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:'*q4_k_m.gguf'`. Le fichier va dans le cache local et son nom s'utilise ensuite avec `-m`.",
                     "`stargate pull REPO:FICHIER` télécharge un fichier de modèle depuis le hub Hugging Face (reprise possible, sha256 vérifié). `stargate models` liste les modèles téléchargés, et `stargate serve -m REPO` les sert."],
              "en": ["Use `stargate pull REPO:FILE`, for example `stargate pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:'*q4_k_m.gguf'`. The file goes into the local cache and its name then works with `-m`.",
                     "`stargate pull REPO:FILE` downloads a model file from the Hugging Face hub (resumable, sha256 checked). `stargate models` lists the pulled models, and `stargate serve -m REPO` serves one."],
              "de": ["Nutze `stargate pull REPO:DATEI`, zum Beispiel `stargate pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:'*q4_k_m.gguf'`. Die Datei landet im lokalen Cache, und ihr Name funktioniert dann mit `-m`.",
                     "`stargate pull REPO:DATEI` lädt eine Modelldatei vom Hugging-Face-Hub herunter (fortsetzbar, sha256 geprüft). `stargate models` listet die geladenen Modelle, und `stargate serve -m REPO` stellt eines bereit."]},
    },
    "deployment": {
        "cmd": "admin tenant",
        "x": {"fr": ["créer un déploiement", "créer un tenant", "ajouter un nouveau déploiement"],
              "en": ["create a deployment", "create a tenant", "add a new deployment"],
              "de": ["ein Deployment anlegen", "einen Mandanten erstellen", "ein neues Deployment hinzufügen"]},
        "a": {"fr": ["Créez le tenant du déploiement avec `stargate admin tenant create NOM`, puis une clé d'API avec `stargate admin key create --tenant NOM`.",
                     "Un déploiement correspond à un tenant : `stargate admin tenant create NOM`. Donnez-lui ensuite une clé avec `stargate admin key create --tenant NOM`."],
              "en": ["Create the deployment's tenant with `stargate admin tenant create NAME`, then an API key with `stargate admin key create --tenant NAME`.",
                     "A deployment is a tenant: `stargate admin tenant create NAME`. Then give it a key with `stargate admin key create --tenant NAME`."],
              "de": ["Lege den Mandanten des Deployments mit `stargate admin tenant create NAME` an, dann einen API-Schlüssel mit `stargate admin key create --tenant NAME`.",
                     "Ein Deployment ist ein Mandant (Tenant): `stargate admin tenant create NAME`. Danach bekommt er mit `stargate admin key create --tenant NAME` einen Schlüssel."]},
    },
    "key": {
        "cmd": "admin key",
        "x": {"fr": ["créer une clé d'API", "générer une clé", "obtenir une clé pour un tenant"],
              "en": ["create an API key", "generate a key", "get a key for a tenant"],
              "de": ["einen API-Schlüssel erstellen", "einen Schlüssel erzeugen", "einen Schlüssel für einen Mandanten bekommen"]},
        "a": {"fr": ["Utilisez `stargate admin key create --tenant NOM`, où NOM est le tenant créé avec `stargate admin tenant create NOM`.",
                     "`stargate admin key create --tenant NOM` crée une clé d'API pour ce tenant ; les clients l'envoient ensuite avec leurs requêtes."],
              "en": ["Use `stargate admin key create --tenant NAME`, where NAME is the tenant created with `stargate admin tenant create NAME`.",
                     "`stargate admin key create --tenant NAME` creates an API key for that tenant; clients then send it with their requests."],
              "de": ["Nutze `stargate admin key create --tenant NAME`, wobei NAME der mit `stargate admin tenant create NAME` angelegte Mandant ist.",
                     "`stargate admin key create --tenant NAME` erzeugt einen API-Schlüssel für diesen Mandanten; Clients senden ihn dann mit ihren Anfragen."]},
    },
    "tokenizer": {
        "cmd": "tokenizer train",
        "x": {"fr": ["entraîner un tokenizer", "créer un vocabulaire BPE", "apprendre un tokenizer sur mon corpus"],
              "en": ["train a tokenizer", "build a BPE vocabulary", "learn a tokenizer on my corpus"],
              "de": ["einen Tokenizer trainieren", "ein BPE-Vokabular erstellen", "einen Tokenizer auf meinem Korpus lernen"]},
        "a": {"fr": ["Lancez `stargate tokenizer train --input CORPUS --vocab-size 4096 -o vocab.gguf` (ajoutez `--special '<|im_end|>'` pour des jetons spéciaux). Il apprend un BPE au niveau des octets, de façon déterministe.",
                     "`stargate tokenizer train --input CORPUS --vocab-size N -o OUT.gguf` apprend un vocabulaire BPE sur octets ; le fichier obtenu se charge partout où un vocabulaire se charge."],
              "en": ["Run `stargate tokenizer train --input CORPUS --vocab-size 4096 -o vocab.gguf` (add `--special '<|im_end|>'` for special tokens). It learns a byte-level BPE, deterministically.",
                     "`stargate tokenizer train --input CORPUS --vocab-size N -o OUT.gguf` learns a byte-level BPE vocabulary; the file it writes loads wherever a vocabulary loads."],
              "de": ["Starte `stargate tokenizer train --input KORPUS --vocab-size 4096 -o vocab.gguf` (mit `--special '<|im_end|>'` für Spezialtokens). Es lernt deterministisch ein Byte-Level-BPE.",
                     "`stargate tokenizer train --input KORPUS --vocab-size N -o OUT.gguf` lernt ein Byte-Level-BPE-Vokabular; die Datei lässt sich überall laden, wo ein Vokabular geladen wird."]},
    },
    "data": {
        "cmd": "data prepare",
        "x": {"fr": ["préparer des données d'entraînement", "transformer du texte en jetons", "créer des shards de jetons"],
              "en": ["prepare training data", "turn text into tokens", "make token shards"],
              "de": ["Trainingsdaten vorbereiten", "Text in Tokens umwandeln", "Token-Shards erstellen"]},
        "a": {"fr": ["Utilisez `stargate data prepare --tokenizer vocab.gguf --input corpus.txt --out data/ --val-fraction 0.05` : il écrit des shards de jetons et les manifestes `train.json` et `val.json`.",
                     "`stargate data prepare --tokenizer T --input FICHIER --out DOSSIER` découpe le texte en jetons pour `stargate train` ; un fichier `.jsonl` donne un document par ligne."],
              "en": ["Use `stargate data prepare --tokenizer vocab.gguf --input corpus.txt --out data/ --val-fraction 0.05`: it writes token shards and the `train.json` and `val.json` manifests.",
                     "`stargate data prepare --tokenizer T --input FILE --out DIR` tokenizes text for `stargate train`; a `.jsonl` file gives one document per line."],
              "de": ["Nutze `stargate data prepare --tokenizer vocab.gguf --input korpus.txt --out data/ --val-fraction 0.05`: Es schreibt Token-Shards und die Manifeste `train.json` und `val.json`.",
                     "`stargate data prepare --tokenizer T --input DATEI --out ORDNER` zerlegt Text in Tokens für `stargate train`; eine `.jsonl`-Datei liefert ein Dokument pro Zeile."]},
    },
    "train": {
        "cmd": "train",
        "x": {"fr": ["entraîner un modèle", "pré-entraîner un modèle", "entraîner un modèle à partir de zéro"],
              "en": ["train a model", "pretrain a model", "train a model from scratch"],
              "de": ["ein Modell trainieren", "ein Modell vortrainieren", "ein Modell von Grund auf trainieren"]},
        "a": {"fr": ["Lancez `stargate train CONFIG`, par exemple `stargate train configs/tiny-llama.conf`. La configuration est un fichier `clé = valeur` décrit dans configs/README.md ; `stargate train --keys` liste toutes les clés.",
                     "`stargate train CONFIG` pré-entraîne un modèle Llama ou GPT-2 sur des shards de jetons, avec AdamW et des points de reprise exacts. Avec MPI : `mpirun -np N stargate train CONFIG`."],
              "en": ["Run `stargate train CONFIG`, for example `stargate train configs/tiny-llama.conf`. The config is a `key = value` file described in configs/README.md; `stargate train --keys` lists every key.",
                     "`stargate train CONFIG` pretrains a Llama or GPT-2 model on token shards, with AdamW and bit-exact resumable checkpoints. With MPI: `mpirun -np N stargate train CONFIG`."],
              "de": ["Starte `stargate train CONFIG`, zum Beispiel `stargate train configs/tiny-llama.conf`. Die Konfiguration ist eine `key = value`-Datei, beschrieben in configs/README.md; `stargate train --keys` listet alle Schlüssel.",
                     "`stargate train CONFIG` trainiert ein Llama- oder GPT-2-Modell auf Token-Shards vor, mit AdamW und bitgenau fortsetzbaren Checkpoints. Mit MPI: `mpirun -np N stargate train CONFIG`."]},
    },
    "finetune": {
        "cmd": "finetune",
        "x": {"fr": ["affiner un modèle", "faire du fine-tuning", "adapter un modèle à des conversations"],
              "en": ["fine-tune a model", "do supervised fine-tuning", "adapt a model to conversations"],
              "de": ["ein Modell feinabstimmen", "ein Fine-Tuning machen", "ein Modell an Gespräche anpassen"]},
        "a": {"fr": ["Utilisez `stargate finetune CONFIG` avec dans la configuration `init = MODEL` et `sft_data = conversations.jsonl` (une ligne `{\"messages\": [...]}` par conversation).",
                     "`stargate finetune CONFIG` reprend un modèle (`init = MODEL`) et l'entraîne sur des conversations JSONL (`sft_data`) ; seules les réponses de l'assistant sont apprises."],
              "en": ["Use `stargate finetune CONFIG` with `init = MODEL` and `sft_data = conversations.jsonl` in the config (one `{\"messages\": [...]}` line per conversation).",
                     "`stargate finetune CONFIG` starts from a model (`init = MODEL`) and trains it on JSONL conversations (`sft_data`); only the assistant's answers are learned."],
              "de": ["Nutze `stargate finetune CONFIG` mit `init = MODEL` und `sft_data = gespraeche.jsonl` in der Konfiguration (eine `{\"messages\": [...]}`-Zeile pro Gespräch).",
                     "`stargate finetune CONFIG` startet von einem Modell (`init = MODEL`) und trainiert es auf JSONL-Gesprächen (`sft_data`); gelernt werden nur die Antworten des Assistenten."]},
    },
    "build": {
        "cmd": None,
        "x": {"fr": ["compiler stargate", "installer stargate", "construire stargate depuis les sources"],
              "en": ["build stargate", "install stargate", "compile stargate from source"],
              "de": ["stargate kompilieren", "stargate installieren", "stargate aus dem Quellcode bauen"]},
        "a": {"fr": ["Sur Debian 12, `./scripts/demo.sh` installe les dépendances, compile et lance un petit modèle. À la main : `bash scripts/install-deps.sh` puis `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j`.",
                     "Lancez `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j` ; le binaire `stargate` est dans `build/`. `./scripts/test.sh` compile et lance tous les tests."],
              "en": ["On Debian 12, `./scripts/demo.sh` installs the dependencies, builds and runs a small model. By hand: `bash scripts/install-deps.sh` then `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j`.",
                     "Run `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j`; the `stargate` binary is in `build/`. `./scripts/test.sh` builds and runs every test."],
              "de": ["Unter Debian 12 installiert `./scripts/demo.sh` die Abhängigkeiten, baut alles und startet ein kleines Modell. Von Hand: `bash scripts/install-deps.sh`, dann `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j`.",
                     "Starte `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j`; das Programm `stargate` liegt in `build/`. `./scripts/test.sh` baut und startet alle Tests."]},
    },
    "bench": {
        "cmd": "bench",
        "x": {"fr": ["mesurer la vitesse d'un modèle", "faire un benchmark", "connaître le nombre de jetons par seconde"],
              "en": ["measure the speed of a model", "run a benchmark", "know how many tokens per second I get"],
              "de": ["die Geschwindigkeit eines Modells messen", "einen Benchmark machen", "die Tokens pro Sekunde messen"]},
        "a": {"fr": ["Lancez `stargate bench -m MODEL -p 512 -n 128` : il mesure la vitesse de traitement du prompt et du décodage en jetons par seconde.",
                     "`stargate bench -m MODEL` donne les jetons par seconde du prompt et de la génération ; `-t` choisit le nombre de threads."],
              "en": ["Run `stargate bench -m MODEL -p 512 -n 128`: it measures prompt processing and decoding speed in tokens per second.",
                     "`stargate bench -m MODEL` reports tokens per second for the prompt and for generation; `-t` sets the number of threads."],
              "de": ["Starte `stargate bench -m MODEL -p 512 -n 128`: Es misst die Geschwindigkeit von Prompt-Verarbeitung und Dekodierung in Tokens pro Sekunde.",
                     "`stargate bench -m MODEL` liefert Tokens pro Sekunde für Prompt und Generierung; `-t` legt die Anzahl der Threads fest."]},
    },
    "tokenize": {
        "cmd": "tokenize",
        "x": {"fr": ["découper un texte en jetons", "voir les jetons d'un texte", "compter les jetons d'un texte"],
              "en": ["split a text into tokens", "see the tokens of a text", "count the tokens of a text"],
              "de": ["einen Text in Tokens zerlegen", "die Tokens eines Textes sehen", "die Tokens eines Textes zählen"]},
        "a": {"fr": ["Utilisez `stargate tokenize -m MODEL < texte.txt` : une ligne `id<TAB>morceau` par jeton, ou `--ids` pour les seuls identifiants et `--stats` pour les comptes.",
                     "`echo \"Bonjour\" | stargate tokenize -m MODEL` affiche les jetons ; `stargate detokenize -m MODEL` fait l'inverse."],
              "en": ["Use `stargate tokenize -m MODEL < text.txt`: one `id<TAB>piece` line per token, or `--ids` for the ids only and `--stats` for counts.",
                     "`echo \"Hello\" | stargate tokenize -m MODEL` prints the tokens; `stargate detokenize -m MODEL` does the reverse."],
              "de": ["Nutze `stargate tokenize -m MODEL < text.txt`: eine Zeile `id<TAB>Stück` pro Token, oder `--ids` nur für die IDs und `--stats` für die Zählung.",
                     "`echo \"Hallo\" | stargate tokenize -m MODEL` zeigt die Tokens; `stargate detokenize -m MODEL` macht das Umgekehrte."]},
    },
}

# Intents without a command, with their own questions.
HELP_FIXED = {
    "what_is": {
        "q": {"fr": ["C'est quoi stargate ?", "Qu'est-ce que stargate ?", "Présente-moi stargate.", "À quoi sert stargate ?",
                     "Explique-moi ce qu'est stargate.", "Que fait stargate ?", "Stargate, c'est quoi exactement ?",
                     "Peux-tu décrire stargate ?", "Je ne connais pas stargate, c'est quoi ?", "Dis-m'en plus sur stargate.",
                     "En quoi consiste le projet stargate ?"],
              "en": ["What is stargate?", "What's stargate?", "Introduce stargate to me.", "What is stargate for?",
                     "Explain what stargate is.", "What does stargate do?", "What exactly is stargate?", "Can you describe stargate?",
                     "I don't know stargate, what is it?", "Tell me more about stargate.", "What is the stargate project?"],
              "de": ["Was ist stargate?", "Was ist eigentlich stargate?", "Stell mir stargate vor.", "Wozu dient stargate?",
                     "Erklär mir, was stargate ist.", "Was macht stargate?", "Was genau ist stargate?", "Kannst du stargate beschreiben?",
                     "Ich kenne stargate nicht, was ist das?", "Erzähl mir mehr über stargate.", "Worum geht es im Projekt stargate?"]},
        "a": {"fr": ["stargate est une pile d'IA ouverte écrite en C : elle charge des modèles GGUF et safetensors, les exécute, les sert derrière une API compatible OpenAI et sait aussi les entraîner.",
                     "stargate est un projet libre écrit en C pour charger, exécuter, servir et entraîner des modèles de langage comme Llama, Qwen, Mistral ou GPT-2.",
                     "C'est une pile d'IA open source en C : inférence sur CPU, serveur HTTP compatible OpenAI, entraînement et fine-tuning de modèles."],
              "en": ["stargate is an open AI stack written in C: it loads GGUF and safetensors models, runs them, serves them behind an OpenAI-compatible API and can also train them.",
                     "stargate is an open project written in C to load, run, serve and train language models such as Llama, Qwen, Mistral or GPT-2.",
                     "It is an open-source AI stack in C: CPU inference, an OpenAI-compatible HTTP server, and model training and fine-tuning."],
              "de": ["stargate ist ein offener KI-Stack in C: Er lädt GGUF- und safetensors-Modelle, führt sie aus, stellt sie über eine OpenAI-kompatible API bereit und kann sie auch trainieren.",
                     "stargate ist ein offenes Projekt in C, um Sprachmodelle wie Llama, Qwen, Mistral oder GPT-2 zu laden, auszuführen, bereitzustellen und zu trainieren.",
                     "Es ist ein Open-Source-KI-Stack in C: Inferenz auf der CPU, ein OpenAI-kompatibler HTTP-Server sowie Training und Fine-Tuning von Modellen."]},
    },
    "formats": {
        "q": {"fr": ["Quels formats de modèles stargate accepte-t-il ?", "stargate lit quels fichiers ?", "Est-ce que stargate lit le GGUF ?",
                     "Peut-on charger un modèle safetensors ?", "Quelles quantifications sont prises en charge ?", "stargate gère le Q4_K ?",
                     "Quels types de poids stargate supporte-t-il ?", "Quel format de fichier faut-il pour stargate ?",
                     "Je peux utiliser un dossier Hugging Face ?", "stargate sait lire quels formats ?"],
              "en": ["Which model formats does stargate accept?", "What files can stargate read?", "Does stargate read GGUF?",
                     "Can I load a safetensors model?", "Which quantizations are supported?", "Does stargate handle Q4_K?",
                     "What weight types does stargate support?", "What file format does stargate need?",
                     "Can I use a Hugging Face directory?", "Which formats can stargate read?"],
              "de": ["Welche Modellformate akzeptiert stargate?", "Welche Dateien kann stargate lesen?", "Liest stargate GGUF?",
                     "Kann ich ein safetensors-Modell laden?", "Welche Quantisierungen werden unterstützt?", "Unterstützt stargate Q4_K?",
                     "Welche Gewichtstypen unterstützt stargate?", "Welches Dateiformat braucht stargate?",
                     "Kann ich einen Hugging-Face-Ordner nutzen?", "Welche Formate kann stargate lesen?"]},
        "a": {"fr": ["stargate lit les fichiers GGUF (v2 et v3) et les dossiers Hugging Face safetensors, en un fichier ou en plusieurs. Poids : F32, F16, BF16, Q8_0, Q4_0, Q4_K et Q6_K.",
                     "Un fichier `.gguf` ou un dossier Hugging Face (`config.json` et `model.safetensors`). Les types F32, F16, BF16 et les quantifications Q8_0, Q4_0, Q4_K et Q6_K sont pris en charge."],
              "en": ["stargate reads GGUF files (v2 and v3) and Hugging Face safetensors directories, single-file or sharded. Weights: F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K.",
                     "A `.gguf` file or a Hugging Face directory (`config.json` with `model.safetensors`). F32, F16, BF16 and the Q8_0, Q4_0, Q4_K and Q6_K quantizations are supported."],
              "de": ["stargate liest GGUF-Dateien (v2 und v3) und Hugging-Face-Ordner mit safetensors, als eine Datei oder in Teilen. Gewichte: F32, F16, BF16, Q8_0, Q4_0, Q4_K und Q6_K.",
                     "Eine `.gguf`-Datei oder ein Hugging-Face-Ordner (`config.json` mit `model.safetensors`). Unterstützt werden F32, F16, BF16 und die Quantisierungen Q8_0, Q4_0, Q4_K und Q6_K."]},
    },
    "architectures": {
        "q": {"fr": ["Quels modèles stargate peut-il exécuter ?", "Quelles architectures sont prises en charge ?", "stargate marche avec Llama ?",
                     "Est-ce que Qwen fonctionne avec stargate ?", "Puis-je lancer Mistral avec stargate ?", "stargate supporte GPT-2 ?",
                     "Quels modèles sont compatibles avec stargate ?", "Quelles familles de modèles stargate connaît-il ?",
                     "Je peux utiliser Qwen3 ?", "Liste des architectures de stargate ?"],
              "en": ["Which models can stargate run?", "Which architectures are supported?", "Does stargate work with Llama?",
                     "Does Qwen work with stargate?", "Can I run Mistral with stargate?", "Does stargate support GPT-2?",
                     "Which models are compatible with stargate?", "Which model families does stargate know?",
                     "Can I use Qwen3?", "List of stargate's architectures?"],
              "de": ["Welche Modelle kann stargate ausführen?", "Welche Architekturen werden unterstützt?", "Funktioniert stargate mit Llama?",
                     "Läuft Qwen mit stargate?", "Kann ich Mistral mit stargate starten?", "Unterstützt stargate GPT-2?",
                     "Welche Modelle sind mit stargate kompatibel?", "Welche Modellfamilien kennt stargate?",
                     "Kann ich Qwen3 benutzen?", "Liste der Architekturen von stargate?"]},
        "a": {"fr": ["stargate exécute les architectures Llama (Llama 2 et 3, TinyLlama, SmolLM), Qwen2, Qwen3, Mistral et GPT-2.",
                     "Llama, Qwen2 et Qwen2.5, Qwen3, Mistral et GPT-2 sont pris en charge, et leurs logits sont vérifiés contre une référence PyTorch."],
              "en": ["stargate runs the Llama (Llama 2 and 3, TinyLlama, SmolLM), Qwen2, Qwen3, Mistral and GPT-2 architectures.",
                     "Llama, Qwen2 and Qwen2.5, Qwen3, Mistral and GPT-2 are supported, and their logits are checked against a PyTorch reference."],
              "de": ["stargate führt die Architekturen Llama (Llama 2 und 3, TinyLlama, SmolLM), Qwen2, Qwen3, Mistral und GPT-2 aus.",
                     "Llama, Qwen2 und Qwen2.5, Qwen3, Mistral und GPT-2 werden unterstützt, und ihre Logits werden gegen eine PyTorch-Referenz geprüft."]},
    },
}


# ----------------------------------------------------------------------------- country templates
# Slots: {n} name (with article), {N} same capitalized, {of} "de la France" / "of France" /
# "von Frankreich", {inn} "en France" / "in France" / "in Frankreich", {Inn} capitalized,
# {acc} German accusative, {cap} capital, {Cap}, {cur}, {langs}, {cont} continent phrase,
# {st} fr "se trouve(nt)", {est} fr "est/sont", {liegt}/{befindet} de verbs (plural aware).

COUNTRY_Q = {
    "capital": {
        "fr": ["Quelle est la capitale {of} ?", "C'est quoi la capitale {of} ?", "Quelle ville est la capitale {of} ?",
               "Dis-moi la capitale {of}.", "Tu connais la capitale {of} ?", "Capitale {of} ?", "Comment s'appelle la capitale {of} ?",
               "Peux-tu me dire quelle est la capitale {of} ?", "J'aimerais connaître la capitale {of}.",
               "Quelle est la capitale {of}, s'il te plaît ?", "{N} a pour capitale quelle ville ?"],
        "en": ["What is the capital {of}?", "What's the capital {of}?", "Which city is the capital {of}?", "Tell me the capital {of}.",
               "Do you know the capital {of}?", "Capital {of}?", "What is the name of the capital {of}?",
               "Can you tell me what the capital {of} is?", "I'd like to know the capital {of}.", "Name the capital {of}.",
               "What is the capital city {of}?"],
        "de": ["Was ist die Hauptstadt {of}?", "Wie heißt die Hauptstadt {of}?", "Welche Stadt ist die Hauptstadt {of}?",
               "Sag mir die Hauptstadt {of}.", "Kennst du die Hauptstadt {of}?", "Hauptstadt {of}?",
               "Kannst du mir sagen, was die Hauptstadt {of} ist?", "Ich möchte die Hauptstadt {of} wissen.",
               "Nenne mir die Hauptstadt {of}.", "Was ist eigentlich die Hauptstadt {of}?", "Welche Hauptstadt hat {n}?"],
    },
    "currency": {
        "fr": ["Quelle est la monnaie {of} ?", "Quelle monnaie utilise-t-on {inn} ?", "Avec quelle monnaie paie-t-on {inn} ?",
               "Quelle est la devise {of} ?", "C'est quoi la monnaie {of} ?", "Monnaie {of} ?", "{Inn}, on paie avec quoi ?",
               "Quelle est la monnaie officielle {of} ?", "Dis-moi quelle monnaie on utilise {inn}.", "Quelle monnaie a cours {inn} ?",
               "Je pars {inn}. Quelle est la monnaie là-bas ?"],
        "en": ["What is the currency {of}?", "What currency is used {inn}?", "What money do they use {inn}?",
               "Which currency does {n} use?", "What's the currency {inn}?", "Currency {of}?", "What is the official currency {of}?",
               "Tell me the currency {of}.", "I'm travelling to {n}. What currency do I need?", "What do people pay with {inn}?",
               "Do you know the currency {of}?"],
        "de": ["Was ist die Währung {of}?", "Welche Währung hat {n}?", "Mit welcher Währung bezahlt man {inn}?",
               "Welche Währung benutzt man {inn}?", "Was ist die offizielle Währung {of}?", "Währung {of}?", "Wie heißt die Währung {of}?",
               "Kannst du mir sagen, welche Währung man {inn} benutzt?", "Welches Geld benutzt man {inn}?", "Sag mir die Währung {of}.",
               "Womit bezahlt man {inn}?"],
    },
    "language": {
        "fr": ["Quelle langue parle-t-on {inn} ?", "Quelles langues parle-t-on {inn} ?", "Quelle est la langue {of} ?",
               "Quelle est la langue officielle {of} ?", "On parle quelle langue {inn} ?", "Quelle langue est parlée {inn} ?",
               "Langue parlée {inn} ?", "Dis-moi quelle langue on parle {inn}.", "Qu'est-ce qu'on parle comme langue {inn} ?",
               "Je vais {inn}, quelle langue parle-t-on là-bas ?", "Quelles sont les langues {of} ?"],
        "en": ["What language is spoken {inn}?", "What languages do people speak {inn}?", "Which language do they speak {inn}?",
               "What is the official language {of}?", "What language do people speak {inn}?", "Language {of}?",
               "Tell me what language is spoken {inn}.", "What's the main language {inn}?",
               "I'm going to {n}. What language do they speak there?", "Which languages are spoken {inn}?", "What do people speak {inn}?"],
        "de": ["Welche Sprache spricht man {inn}?", "Welche Sprachen spricht man {inn}?", "Was ist die Amtssprache {of}?",
               "Welche Sprache wird {inn} gesprochen?", "Was spricht man {inn}?", "Sprache {of}?",
               "Sag mir, welche Sprache man {inn} spricht.", "Was ist die Hauptsprache {of}?", "Welche Sprachen werden {inn} gesprochen?",
               "Kannst du mir sagen, was man {inn} spricht?", "Welche Sprache sprechen die Menschen {inn}?"],
    },
    "continent": {
        "fr": ["Sur quel continent {st} {n} ?", "Dans quelle partie du monde {st} {n} ?", "Où {st} {n} ?",
               "{N}, c'est sur quel continent ?", "Dis-moi où {st} {n}.", "Où {est} {n} dans le monde ?",
               "Sur quel continent peut-on trouver {n} ?", "Tu sais où {st} {n} ?", "Dans quelle région du monde {st} {n} ?",
               "{N}, c'est où ?"],
        "en": ["On which continent is {n}?", "Where is {n}?", "What continent is {n} in?", "Which part of the world is {n} in?",
               "Where is {n} located?", "Tell me which continent {n} is on.", "{N} is on which continent?",
               "Which continent does {n} belong to?", "Where in the world is {n}?", "Do you know where {n} is?"],
        "de": ["Auf welchem Kontinent {liegt} {n}?", "Wo {liegt} {n}?", "In welchem Teil der Welt {liegt} {n}?",
               "Zu welchem Kontinent {gehoert} {n}?", "Wo {befindet} sich {n}?", "Sag mir, wo {n} {liegt}.",
               "Weißt du, wo {n} {liegt}?", "Auf welchem Kontinent {befindet} sich {n}?", "In welcher Weltregion {liegt} {n}?",
               "Wo auf der Welt {liegt} {n}?"],
    },
    "capital_of": {   # reverse: which country has this capital
        "fr": ["De quel pays {cap} est-elle la capitale ?", "{Cap} est la capitale de quel pays ?", "Quel pays a pour capitale {cap} ?",
               "Dans quel pays se trouve {cap} ?", "{Cap}, c'est la capitale de quel pays ?", "{Cap} est dans quel pays ?",
               "Tu sais de quel pays {cap} est la capitale ?", "Quel pays a {cap} comme capitale ?", "{Cap} : capitale de quel pays ?",
               "Dis-moi de quel pays {cap} est la capitale."],
        "en": ["Which country has {cap} as its capital?", "{Cap} is the capital of which country?", "What country is {cap} the capital of?",
               "In which country is {cap}?", "Which country's capital is {cap}?", "Do you know which country {cap} is the capital of?",
               "{Cap}: capital of which country?", "Tell me which country has the capital {cap}.", "What country is {cap} in?",
               "Where is {cap}?"],
        "de": ["Von welchem Land ist {cap} die Hauptstadt?", "{Cap} ist die Hauptstadt welches Landes?", "Welches Land hat {cap} als Hauptstadt?",
               "In welchem Land liegt {cap}?", "Wo liegt {cap}?", "Weißt du, von welchem Land {cap} die Hauptstadt ist?",
               "Welches Land hat die Hauptstadt {cap}?", "{Cap}: Hauptstadt von welchem Land?", "Zu welchem Land gehört {cap}?",
               "Sag mir, in welchem Land {cap} liegt."],
    },
    "about": {
        "fr": ["Parle-moi {of}.", "Que sais-tu {of} ?", "Donne-moi quelques informations sur {n}.", "Présente-moi {n} en quelques mots.",
               "Dis-moi l'essentiel sur {n}.", "Qu'est-ce que tu peux me dire sur {n} ?", "Quelques faits sur {n}, s'il te plaît.",
               "Résume-moi {n} : capitale, langue, monnaie.", "Je voudrais des informations sur {n}.", "{N} en bref ?"],
        "en": ["Tell me about {n}.", "What do you know about {n}?", "Give me some information about {n}.", "Describe {n} in a few words.",
               "Tell me the basics about {n}.", "What can you tell me about {n}?", "A few facts about {n}, please.",
               "Summarize {n}: capital, language, currency.", "I'd like some information about {n}.", "{N} in brief?"],
        "de": ["Erzähl mir etwas über {acc}.", "Was weißt du über {acc}?", "Gib mir ein paar Informationen über {acc}.",
               "Beschreib {acc} in wenigen Worten.", "Sag mir das Wichtigste über {acc}.", "Was kannst du mir über {acc} sagen?",
               "Ein paar Fakten über {acc}, bitte.", "Fass {acc} zusammen: Hauptstadt, Sprache, Währung.",
               "Ich hätte gern Informationen über {acc}.", "{N} in Kürze?"],
    },
}
# "Parle-moi de la France" -- the fr "about" template uses {of} = "de la France".

COUNTRY_FOLLOW = {  # follow-up question in a multi-turn conversation, same intent, new country
    "fr": ["Et {n} ?", "Et pour {n} ?", "Et {inn} ?", "Même question pour {n}.", "Et qu'en est-il {of} ?"],
    "en": ["And {n}?", "What about {n}?", "And for {n}?", "How about {n}?", "Same question for {n}."],
    "de": ["Und {n}?", "Und {inn}?", "Wie ist es {inn}?", "Dieselbe Frage für {acc}.", "Und was ist mit {dat}?"],
}

COUNTRY_A = {
    "capital": {"fr": ["La capitale {of} est {cap}.", "{Cap} est la capitale {of}.", "La capitale {of}, c'est {cap}."],
                "en": ["The capital {of} is {cap}.", "{Cap} is the capital {of}.", "The capital city {of} is {cap}."],
                "de": ["Die Hauptstadt {of} ist {cap}.", "{Cap} ist die Hauptstadt {of}.", "Die Hauptstadt {of} heißt {cap}."]},
    "currency": {"fr": ["La monnaie {of} est {cur}.", "{Inn}, la monnaie est {cur}.", "{Inn}, on paie avec {cur}."],
                 "en": ["The currency {of} is {cur}.", "{Inn}, the currency is {cur}.", "{N} uses {cur}."],
                 "de": ["Die Währung {of} ist {cur}.", "{Inn} ist die Währung {cur}.", "Die offizielle Währung {of} ist {cur}."]},
    "language1": {"fr": ["{Inn}, on parle {langs}.", "La langue parlée {inn} est {langs}.", "On parle {langs} {inn}."],
                  "en": ["{Inn}, people speak {langs}.", "The language spoken {inn} is {langs}.", "People {inn} speak {langs}."],
                  "de": ["{Inn} spricht man {langs}.", "Die Sprache {of} ist {langs}.", "Man spricht {inn} {langs}."]},
    "language2": {"fr": ["{Inn}, on parle {langs}.", "Les langues parlées {inn} sont {langs}.", "On parle {langs} {inn}."],
                  "en": ["{Inn}, people speak {langs}.", "The languages spoken {inn} are {langs}.", "People {inn} speak {langs}."],
                  "de": ["{Inn} spricht man {langs}.", "Die Sprachen {of} sind {langs}.", "Man spricht {inn} {langs}."]},
    "continent": {"fr": ["{N} {st} {cont}.", "{N} {est} {cont}."],
                  "en": ["{N} is {cont}.", "{N} is located {cont}."],
                  "de": ["{N} {liegt} {cont}.", "{N} {befindet} sich {cont}."]},
    "capital_of": {"fr": ["{Cap} est la capitale {of}.", "C'est la capitale {of}.", "{Cap} se trouve {inn}, dont elle est la capitale."],
                   "en": ["{Cap} is the capital {of}.", "It is the capital {of}.", "{Cap} is in {n}; it is the capital."],
                   "de": ["{Cap} ist die Hauptstadt {of}.", "Das ist die Hauptstadt {of}.", "{Cap} liegt {inn} und ist die Hauptstadt."]},
}


def country_slots(c, lang):
    pl = c.plural[lang]
    s = {"n": c.name[lang], "N": cap1(c.name[lang]), "of": c.of[lang], "inn": c.inn[lang], "Inn": cap1(c.inn[lang]),
         "acc": c.acc[lang], "cap": c.capital[lang], "Cap": cap1(c.capital[lang]), "cur": c.currency(lang),
         "langs": c.language_list(lang), "cont": c.continent(lang) if c.cont else "",
         "st": "se trouvent" if pl else "se trouve", "est": "sont" if pl else "est",
         "liegt": "liegen" if pl else "liegt", "befindet": "befinden" if pl else "befindet",
         "gehoert": "gehören" if pl else "gehört"}
    if lang == "de":   # dative for "mit ..."
        s["dat"] = c.of["de"].replace("vom ", "dem ", 1).replace("von ", "", 1)
    else:
        s["dat"] = c.name[lang]
    return s


def country_about(c, lang, rng):
    s = country_slots(c, lang)
    multi = len(c.langs) > 1
    if lang == "fr":
        parts = []
        if c.cont:
            parts.append("{N} {st} {cont}.")
        parts.append(("Leur capitale est {cap}, on y parle {langs} et leur monnaie est {cur}." if c.plural["fr"] else
                      "Sa capitale est {cap}, on y parle {langs} et sa monnaie est {cur}."))
    elif lang == "en":
        parts = []
        if c.cont:
            parts.append("{N} is {cont}.")
        parts.append("Its capital is {cap}, " + ("the languages spoken there are {langs}" if multi else "people speak {langs}") +
                     " and its currency is {cur}.")
    else:
        parts = []
        if c.cont:
            parts.append("{N} {liegt} {cont}.")
        parts.append("Die Hauptstadt ist {cap}, man spricht {langs}, und die Währung ist {cur}.")
    return " ".join(parts).format(**s)


# ----------------------------------------------------------------------------- arithmetic

ARITH_Q = {
    "add": {
        "fr": ["Combien font {a} plus {b} ?", "Combien fait {a} + {b} ?", "Calcule {a} + {b}.", "{a} + {b} = ?",
               "Quel est le résultat de {a} + {b} ?", "Peux-tu additionner {a} et {b} ?", "Quelle est la somme de {a} et {b} ?",
               "{a} plus {b}, ça fait combien ?", "Additionne {a} et {b}, s'il te plaît.", "Combien font {a} et {b} ensemble ?",
               "Que donne {a} + {b} ?"],
        "en": ["What is {a} plus {b}?", "What's {a} + {b}?", "Calculate {a} + {b}.", "{a} + {b} = ?", "What is the result of {a} + {b}?",
               "Can you add {a} and {b}?", "What is the sum of {a} and {b}?", "{a} plus {b}, how much is that?",
               "Add {a} and {b}, please.", "How much is {a} plus {b}?", "Compute {a} + {b}."],
        "de": ["Was ist {a} plus {b}?", "Wie viel ist {a} + {b}?", "Rechne {a} + {b}.", "{a} + {b} = ?", "Was ergibt {a} + {b}?",
               "Kannst du {a} und {b} addieren?", "Was ist die Summe von {a} und {b}?", "{a} plus {b}, wie viel ist das?",
               "Addiere {a} und {b}, bitte.", "Wie viel sind {a} und {b} zusammen?", "Berechne {a} + {b}."],
    },
    "sub": {
        "fr": ["Combien font {a} moins {b} ?", "Calcule {a} - {b}.", "{a} - {b} = ?", "Quel est le résultat de {a} - {b} ?",
               "Peux-tu soustraire {b} de {a} ?", "Quelle est la différence entre {a} et {b} ?", "Enlève {b} à {a}.",
               "{a} moins {b}, ça fait combien ?", "Combien reste-t-il si on retire {b} de {a} ?", "Soustrais {b} de {a}, s'il te plaît.",
               "Combien fait {a} - {b} ?"],
        "en": ["What is {a} minus {b}?", "Calculate {a} - {b}.", "{a} - {b} = ?", "What is the result of {a} - {b}?",
               "Can you subtract {b} from {a}?", "What is the difference between {a} and {b}?", "Take {b} away from {a}.",
               "{a} minus {b}, how much is that?", "How much is left if you take {b} from {a}?", "Subtract {b} from {a}, please.",
               "What's {a} - {b}?"],
        "de": ["Was ist {a} minus {b}?", "Rechne {a} - {b}.", "{a} - {b} = ?", "Was ergibt {a} - {b}?", "Kannst du {b} von {a} abziehen?",
               "Was ist die Differenz von {a} und {b}?", "Zieh {b} von {a} ab.", "{a} minus {b}, wie viel ist das?",
               "Wie viel bleibt, wenn man {b} von {a} abzieht?", "Subtrahiere {b} von {a}, bitte.", "Wie viel ist {a} - {b}?"],
    },
    "mul": {
        "fr": ["Combien font {a} fois {b} ?", "Calcule {a} × {b}.", "{a} × {b} = ?", "Combien fait {a} multiplié par {b} ?",
               "Quel est le produit de {a} et {b} ?", "Multiplie {a} par {b}.", "{a} fois {b}, ça fait combien ?",
               "Peux-tu calculer {a} x {b} ?", "Que donne {a} * {b} ?", "Combien font {a} × {b} ?", "Quel est le résultat de {a} fois {b} ?"],
        "en": ["What is {a} times {b}?", "Calculate {a} × {b}.", "{a} × {b} = ?", "What is {a} multiplied by {b}?",
               "What is the product of {a} and {b}?", "Multiply {a} by {b}.", "{a} times {b}, how much is that?",
               "Can you compute {a} x {b}?", "What does {a} * {b} give?", "How much is {a} × {b}?", "What's the result of {a} times {b}?"],
        "de": ["Was ist {a} mal {b}?", "Rechne {a} × {b}.", "{a} × {b} = ?", "Was ist {a} multipliziert mit {b}?",
               "Was ist das Produkt von {a} und {b}?", "Multipliziere {a} mit {b}.", "{a} mal {b}, wie viel ist das?",
               "Kannst du {a} x {b} rechnen?", "Was ergibt {a} * {b}?", "Wie viel ist {a} × {b}?", "Was kommt bei {a} mal {b} heraus?"],
    },
    "div": {
        "fr": ["Combien font {a} divisé par {b} ?", "Calcule {a} ÷ {b}.", "{a} / {b} = ?", "Divise {a} par {b}.",
               "Quel est le quotient de {a} par {b} ?", "Combien de fois {b} dans {a} ?", "{a} divisé par {b}, ça fait combien ?",
               "Peux-tu diviser {a} par {b} ?", "Que donne {a} / {b} ?", "Combien fait {a} : {b} ?"],
        "en": ["What is {a} divided by {b}?", "Calculate {a} ÷ {b}.", "{a} / {b} = ?", "Divide {a} by {b}.",
               "What is the quotient of {a} by {b}?", "How many times does {b} go into {a}?", "{a} divided by {b}, how much is that?",
               "Can you divide {a} by {b}?", "What does {a} / {b} give?", "How much is {a} ÷ {b}?"],
        "de": ["Was ist {a} geteilt durch {b}?", "Rechne {a} ÷ {b}.", "{a} / {b} = ?", "Teile {a} durch {b}.",
               "Was ist der Quotient von {a} durch {b}?", "Wie oft passt {b} in {a}?", "{a} geteilt durch {b}, wie viel ist das?",
               "Kannst du {a} durch {b} teilen?", "Was ergibt {a} / {b}?", "Wie viel ist {a} : {b}?"],
    },
}
ARITH_SYM = {"add": "+", "sub": "-", "mul": "×", "div": "÷"}
ARITH_A = {
    "fr": ["{a} {op} {b} = {r}.", "Le résultat est {r}.", "Cela fait {r}.", "{a} {op} {b} font {r}.", "La réponse est {r}."],
    "en": ["{a} {op} {b} = {r}.", "The result is {r}.", "That makes {r}.", "{a} {op} {b} equals {r}.", "The answer is {r}."],
    "de": ["{a} {op} {b} = {r}.", "Das Ergebnis ist {r}.", "Das macht {r}.", "{a} {op} {b} ergibt {r}.", "Die Antwort ist {r}."],
}


def gen_arith(rng):
    """(intent, a, b, result) as Decimals. A closed set of 903 problems, all of which the
    training set asks: sums and differences of whole numbers 0..20 (a >= b for differences),
    products 0..10 x 0..10, exact quotients with divisor 1..10 and quotient 0..10."""
    op = rng.choice(["add", "add", "sub", "sub", "mul", "mul", "div"])
    if op in ("add", "sub"):
        a, b = Decimal(rng.randint(0, 20)), Decimal(rng.randint(0, 20))
        if op == "sub" and b > a:
            a, b = b, a
        r = a + b if op == "add" else a - b
    elif op == "mul":
        a, b = Decimal(rng.randint(0, 10)), Decimal(rng.randint(0, 10))
        r = a * b
    else:
        b, r = rng.randint(1, 10), rng.randint(0, 10)
        a, b, r = Decimal(b * r), Decimal(b), Decimal(r)
    return op, a, b, r


def fmt_num(x, lang):
    return fmt_dec(x, lang, 2)


# ----------------------------------------------------------------------------- units
# unit id: (factor to the base unit, forms per language: (singular, plural, German dative plural))
UNITS = {
    "km": {"fr": ("kilomètre", "kilomètres"), "en": ("kilometer", "kilometers"), "de": ("Kilometer", "Kilometer", "Kilometern")},
    "mi": {"fr": ("mile", "miles"), "en": ("mile", "miles"), "de": ("Meile", "Meilen", "Meilen")},
    "kg": {"fr": ("kilogramme", "kilogrammes"), "en": ("kilogram", "kilograms"), "de": ("Kilogramm", "Kilogramm", "Kilogramm")},
    "lb": {"fr": ("livre (lb)", "livres (lb)"), "en": ("pound", "pounds"), "de": ("Pfund (lb)", "Pfund (lb)", "Pfund (lb)")},
    "m": {"fr": ("mètre", "mètres"), "en": ("meter", "meters"), "de": ("Meter", "Meter", "Metern")},
    "ft": {"fr": ("pied", "pieds"), "en": ("foot", "feet"), "de": ("Fuß", "Fuß", "Fuß")},
    "l": {"fr": ("litre", "litres"), "en": ("liter", "liters"), "de": ("Liter", "Liter", "Litern")},
    "gal": {"fr": ("gallon américain", "gallons américains"), "en": ("US gallon", "US gallons"),
            "de": ("US-Gallone", "US-Gallonen", "US-Gallonen")},
    "C": {"fr": ("degré Celsius", "degrés Celsius"), "en": ("degree Celsius", "degrees Celsius"),
          "de": ("Grad Celsius", "Grad Celsius", "Grad Celsius")},
    "F": {"fr": ("degré Fahrenheit", "degrés Fahrenheit"), "en": ("degree Fahrenheit", "degrees Fahrenheit"),
          "de": ("Grad Fahrenheit", "Grad Fahrenheit", "Grad Fahrenheit")},
}
KM_PER_MI = Decimal("1.609344")
KG_PER_LB = Decimal("0.45359237")
M_PER_FT = Decimal("0.3048")
L_PER_GAL = Decimal("3.785411784")
CONV_PAIRS = [("km", "mi"), ("mi", "km"), ("kg", "lb"), ("lb", "kg"), ("C", "F"), ("F", "C"), ("m", "ft"), ("ft", "m"),
              ("l", "gal"), ("gal", "l")]


def convert(v, src, dst):
    """Exact conversion with Decimal (the answer rounds it)."""
    if (src, dst) == ("km", "mi"):
        return v / KM_PER_MI
    if (src, dst) == ("mi", "km"):
        return v * KM_PER_MI
    if (src, dst) == ("kg", "lb"):
        return v / KG_PER_LB
    if (src, dst) == ("lb", "kg"):
        return v * KG_PER_LB
    if (src, dst) == ("m", "ft"):
        return v / M_PER_FT
    if (src, dst) == ("ft", "m"):
        return v * M_PER_FT
    if (src, dst) == ("l", "gal"):
        return v / L_PER_GAL
    if (src, dst) == ("gal", "l"):
        return v * L_PER_GAL
    if (src, dst) == ("C", "F"):
        return v * 9 / 5 + 32
    if (src, dst) == ("F", "C"):
        return (v - 32) * 5 / 9
    raise ValueError((src, dst))


def unit_word(u, v, lang, dative=False):
    forms = UNITS[u][lang]
    if lang == "de" and dative:
        return forms[2]
    if lang == "fr":
        single = abs(v) < 2
    else:
        single = abs(v) == 1
    return forms[0] if single else forms[1]


UNIT_Q = {  # {v} value, {u1} source unit (agreeing with v), {u2} target unit plural, {u2d} German dative plural
    "fr": ["Combien font {v} {u1} en {u2} ?", "Convertis {v} {u1} en {u2}.", "{v} {u1}, ça fait combien de {u2} ?",
           "Peux-tu convertir {v} {u1} en {u2} ?", "À combien de {u2} correspondent {v} {u1} ?", "{v} {u1} en {u2} ?",
           "J'ai {v} {u1}. Ça fait combien en {u2} ?", "Quelle est la valeur de {v} {u1} en {u2} ?",
           "Transforme {v} {u1} en {u2}, s'il te plaît.", "Conversion : {v} {u1} en {u2}.", "Combien de {u2} pour {v} {u1} ?"],
    "en": ["How many {u2} is {v} {u1}?", "Convert {v} {u1} to {u2}.", "What is {v} {u1} in {u2}?", "Can you convert {v} {u1} into {u2}?",
           "{v} {u1} in {u2}?", "How much is {v} {u1} in {u2}?", "Please convert {v} {u1} to {u2}.",
           "I have {v} {u1}. How many {u2} is that?", "What's {v} {u1} expressed in {u2}?", "Turn {v} {u1} into {u2}, please.",
           "Conversion: {v} {u1} to {u2}."],
    "de": ["Wie viel sind {v} {u1} in {u2d}?", "Rechne {v} {u1} in {u2d} um.", "Wie viele {u2} sind {v} {u1}?",
           "Kannst du {v} {u1} in {u2d} umrechnen?", "{v} {u1} in {u2d}?", "Was sind {v} {u1} in {u2d}?",
           "Bitte rechne {v} {u1} in {u2d} um.", "Ich habe {v} {u1}. Wie viel ist das in {u2d}?",
           "Wie viel ergeben {v} {u1} in {u2d}?", "Umrechnung: {v} {u1} in {u2d}.", "Wie viele {u2} entsprechen {v} {u1}?"],
}
UNIT_A = {  # {approx} "environ " / "about " / "etwa " when rounded
    "fr": ["{v} {u1} font {approx}{r} {u2}.", "{v} {u1} correspondent à {approx}{r} {u2}.", "Cela fait {approx}{r} {u2}.",
           "Cela donne {approx}{r} {u2}."],
    "en": ["{v} {u1} is {approx}{r} {u2}.", "{v} {u1} equals {approx}{r} {u2}.", "That is {approx}{r} {u2}.",
           "The result is {approx}{r} {u2}."],
    "de": ["{v} {u1} sind {approx}{r} {u2}.", "{v} {u1} entsprechen {approx}{r} {u2}.", "Das sind {approx}{r} {u2}.",
           "Das Ergebnis ist {approx}{r} {u2}."],
}
APPROX = {"fr": "environ ", "en": "about ", "de": "etwa "}
# fr/en singular source verbs: "1 kilomètre font" reads badly; singular values use these.
UNIT_A1 = {
    "fr": ["{v} {u1} fait {approx}{r} {u2}.", "{v} {u1} correspond à {approx}{r} {u2}.", "Cela fait {approx}{r} {u2}."],
    "en": ["{v} {u1} is {approx}{r} {u2}.", "{v} {u1} equals {approx}{r} {u2}.", "That is {approx}{r} {u2}."],
    "de": ["{v} {u1} ist {approx}{r} {u2}.", "{v} {u1} entspricht {approx}{r} {u2}.", "Das sind {approx}{r} {u2}."],
}


UNIT_VALUES = [1, 2, 3, 5, 10, 20, 50, 100]                     # km, mi, kg, lb, m, ft, l, gal
C_VALUES = [-40, -10, 0, 10, 15, 20, 25, 30, 35, 37, 40, 100]
F_VALUES = [-40, 0, 32, 50, 59, 68, 77, 86, 95, 100, 104, 212]


def gen_units(rng):
    """A closed set of 88 conversions (8 values for each of the 8 length, mass and volume pairs,
    12 temperatures each way), all asked in the training set."""
    src, dst = rng.choice(CONV_PAIRS)
    v = Decimal(rng.choice(C_VALUES if src == "C" else F_VALUES if src == "F" else UNIT_VALUES))
    exact = convert(v, src, dst)
    places = 2 if abs(exact) < 10 and src not in ("C", "F") else 1    # 1.24 miles, 11.8 miles, 68 °F
    r = round_dec(exact, places)
    return src, dst, v, exact, r


# ----------------------------------------------------------------------------- dates

MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"],
}
WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
}
ORDINAL_MONTH = {
    "fr": ["premier", "deuxième", "troisième", "quatrième", "cinquième", "sixième", "septième", "huitième", "neuvième",
           "dixième", "onzième", "douzième"],
    "en": ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"],
    "de": ["erste", "zweite", "dritte", "vierte", "fünfte", "sechste", "siebte", "achte", "neunte", "zehnte", "elfte", "zwölfte"],
}


def long_date(d, lang):
    """22 novembre 2026 / November 22, 2026 / 22. November 2026 (fr: 1er for the first)."""
    m = MONTHS[lang][d.month - 1]
    if lang == "fr":
        return "{} {} {}".format("1er" if d.day == 1 else d.day, m, d.year)
    if lang == "en":
        return "{} {}, {}".format(m, d.day, d.year)
    return "{}. {} {}".format(d.day, m, d.year)


DATE_STYLES = {  # style: numeric format
    "fr": lambda d: "{:02d}/{:02d}/{:04d}".format(d.day, d.month, d.year),
    "us": lambda d: "{:02d}/{:02d}/{:04d}".format(d.month, d.day, d.year),
    "de": lambda d: "{:02d}.{:02d}.{:04d}".format(d.day, d.month, d.year),
    "iso": lambda d: "{:04d}-{:02d}-{:02d}".format(d.year, d.month, d.day),
}
LOCAL_STYLE = {"fr": "fr", "en": "us", "de": "de"}
STYLE_NAMES = {  # how each language names each style
    "fr": {"fr": "au format français (jour/mois/année)", "us": "au format américain (mois/jour/année)",
           "de": "au format allemand (jour.mois.année)", "iso": "au format ISO (année-mois-jour)"},
    "en": {"fr": "in the French format (day/month/year)", "us": "in the US format (month/day/year)",
           "de": "in the German format (day.month.year)", "iso": "in the ISO format (year-month-day)"},
    "de": {"fr": "im französischen Format (Tag/Monat/Jahr)", "us": "im amerikanischen Format (Monat/Tag/Jahr)",
           "de": "im deutschen Format (Tag.Monat.Jahr)", "iso": "im ISO-Format (Jahr-Monat-Tag)"},
}

DATE_Q = {
    "weekday_after": {  # {wd} weekday, {nd} "3 jours" / "3 days" / "3 Tage", {ndd} German dative "3 Tagen"
        "fr": ["Si aujourd'hui est {wd}, quel jour serons-nous dans {nd} ?", "Quel jour de la semaine tombe {nd} après un {wd} ?",
               "{Nd} après {wd}, quel jour est-on ?", "On est {wd}. Quel jour sera-t-il dans {nd} ?",
               "Quel jour sera-t-on {nd} après {wd} ?", "Aujourd'hui c'est {wd} : quel jour serons-nous dans {nd} ?",
               "Peux-tu me dire quel jour vient {nd} après {wd} ?", "Compte {nd} à partir de {wd} : quel jour obtient-on ?",
               "Nous sommes {wd}. Quel jour serons-nous dans {nd} ?", "Quel jour est {nd} après {wd} ?"],
        "en": ["If today is {wd}, what day will it be in {nd}?", "What day of the week is {nd} after a {wd}?",
               "{Nd} after {wd}: what day is it?", "It's {wd}. What day will it be in {nd}?", "What day comes {nd} after {wd}?",
               "Today is {wd}. Which day is it in {nd}?", "Can you tell me what day it is {nd} after {wd}?",
               "Count {nd} from {wd}: which day do you get?", "We're on a {wd}. What day is it in {nd}?",
               "Which weekday is {nd} after {wd}?"],
        "de": ["Wenn heute {wd} ist, welcher Tag ist in {ndd}?", "Welcher Wochentag ist {nd} nach einem {wd}?",
               "{Nd} nach {wd}: welcher Tag ist das?", "Heute ist {wd}. Welcher Tag ist in {ndd}?", "Welcher Tag ist {nd} nach {wd}?",
               "Es ist {wd}. Welchen Wochentag haben wir in {ndd}?", "Kannst du mir sagen, welcher Tag {nd} nach {wd} kommt?",
               "Zähl {nd} ab {wd} weiter: welcher Tag ist das?", "Wir haben {wd}. Was für ein Tag ist in {ndd}?",
               "Welcher Tag folgt {nd} nach {wd}?"],
    },
    "next_month": {
        "fr": ["Quel mois vient après {m} ?", "Quel est le mois qui suit {m} ?", "Après {m}, c'est quel mois ?", "Quel mois suit {m} ?",
               "Dis-moi le mois après {m}.", "Quel mois vient juste après {m} ?", "Le mois après {m}, c'est lequel ?",
               "Après le mois {dem}, quel mois arrive ?"],
        "en": ["What month comes after {m}?", "Which month follows {m}?", "After {m}, which month is it?", "What is the month after {m}?",
               "Tell me the month after {m}.", "Which month comes right after {m}?", "The month after {m} is which one?",
               "After the month of {m}, what month comes?"],
        "de": ["Welcher Monat kommt nach {m}?", "Welcher Monat folgt auf den {m}?", "Was kommt nach dem Monat {m}?",
               "Was ist der Monat nach {m}?", "Sag mir den Monat nach {m}.", "Welcher Monat kommt direkt nach {m}?",
               "Der Monat nach {m} ist welcher?", "Welcher Monat schließt sich an den {m} an?"],
    },
    "to_numeric": {  # {d} long date, {style} style name
        "fr": ["Écris la date {iso} {style}.", "Convertis {iso} {style}.", "Comment écrit-on le {d} {style} ?", "Écris le {d} {style}.",
               "Donne-moi le {d} {style}.", "Le {d} {style}, ça donne quoi ?", "Peux-tu écrire la date du {d} {style} ?",
               "Convertis le {d} {style}.", "Quelle est l'écriture du {d} {style} ?", "Comment noter le {d} {style} ?"],
        "en": ["Write the date {iso} {style}.", "Convert {iso} {style}.", "How do you write {d} {style}?", "Write {d} {style}.",
               "Give me {d} {style}.", "What is {d} {style}?", "Can you write the date {d} {style}?", "Convert {d} {style}.",
               "How is {d} written {style}?", "How should I note {d} {style}?"],
        "de": ["Schreib das Datum {iso} {style}.", "Wandle {iso} {style} um.", "Wie schreibt man den {d} {style}?", "Schreib den {d} {style}.",
               "Gib mir den {d} {style}.", "Wie lautet der {d} {style}?", "Kannst du das Datum {d} {style} schreiben?",
               "Wandle den {d} {style} um.", "Wie wird der {d} {style} geschrieben?", "Wie notiere ich den {d} {style}?"],
    },
    "to_long": {  # {num} numeric date, {style} style name
        "fr": ["Quelle date est {num} {style} ?", "Que signifie la date {num} {style} ?", "Écris {num} {style} en toutes lettres.",
               "La date {num} {style}, c'est quel jour ?", "Peux-tu lire la date {num} {style} ?", "Traduis {num} {style} en date complète.",
               "{num} {style} : quelle date est-ce ?", "À quelle date correspond {num} {style} ?"],
        "en": ["What date is {num} {style}?", "What does the date {num} {style} mean?", "Write {num} {style} out in words.",
               "The date {num} {style}: which day is it?", "Can you read the date {num} {style}?", "Spell out {num} {style} as a full date.",
               "{num} {style}: what date is that?", "Which date does {num} {style} stand for?"],
        "de": ["Welches Datum ist {num} {style}?", "Was bedeutet das Datum {num} {style}?", "Schreib {num} {style} in Worten.",
               "Das Datum {num} {style}: welcher Tag ist das?", "Kannst du das Datum {num} {style} lesen?",
               "Schreib {num} {style} als vollständiges Datum.", "{num} {style}: welches Datum ist das?",
               "Für welches Datum steht {num} {style}?"],
    },
    "month_days": {
        "fr": ["Combien de jours y a-t-il en {m} {y} ?", "Combien de jours compte {m} {y} ?", "{M} {y} a combien de jours ?",
               "Quel est le nombre de jours {dem} {y} ?", "Combien de jours dure le mois {dem} {y} ?", "Il y a combien de jours en {m} {y} ?",
               "Dis-moi combien de jours a {m} {y}.", "Le mois {dem} {y} a combien de jours ?"],
        "en": ["How many days are there in {m} {y}?", "How many days does {m} {y} have?", "{M} {y} has how many days?",
               "What is the number of days in {m} {y}?", "How long is {m} {y} in days?", "Tell me how many days {m} {y} has.",
               "How many days in {m} {y}?", "Number of days in {m} {y}?"],
        "de": ["Wie viele Tage hat der {m} {y}?", "Wie viele Tage gibt es im {m} {y}?", "Der {m} {y} hat wie viele Tage?",
               "Wie lang ist der {m} {y} in Tagen?", "Sag mir, wie viele Tage der {m} {y} hat.", "Wie viele Tage im {m} {y}?",
               "Anzahl der Tage im {m} {y}?", "Wie viele Tage zählt der {m} {y}?"],
    },
    "leap": {
        "fr": ["{y} est-elle une année bissextile ?", "Est-ce que {y} est bissextile ?", "L'année {y} est-elle bissextile ?",
               "{y}, année bissextile ou pas ?", "Y a-t-il un 29 février en {y} ?", "Est-ce que l'année {y} compte 366 jours ?",
               "Dis-moi si {y} est une année bissextile.", "{y} est bissextile ?"],
        "en": ["Is {y} a leap year?", "Is the year {y} a leap year?", "Is {y} a leap year or not?", "{y}: leap year or not?",
               "Is there a February 29 in {y}?", "Does {y} have 366 days?", "Tell me if {y} is a leap year.", "Leap year {y}?"],
        "de": ["Ist {y} ein Schaltjahr?", "Ist das Jahr {y} ein Schaltjahr?", "Hat das Jahr {y} einen 29. Februar?", "{y}: Schaltjahr oder nicht?",
               "Gibt es {y} einen 29. Februar?", "Hat {y} 366 Tage?", "Sag mir, ob {y} ein Schaltjahr ist.", "Schaltjahr {y}?"],
    },
    "nth_month": {
        "fr": ["Quel est le {o} mois de l'année ?", "Quel mois est le {o} de l'année ?", "Le {o} mois de l'année, c'est lequel ?",
               "Dis-moi quel est le {o} mois de l'année.", "Comment s'appelle le {o} mois de l'année ?", "Quel est le mois numéro {k} ?",
               "Le mois {k}, c'est quel mois ?", "Quel mois porte le numéro {k} ?"],
        "en": ["What is the {o} month of the year?", "Which month is the {o} of the year?", "The {o} month of the year is which one?",
               "Tell me the {o} month of the year.", "What is the name of the {o} month of the year?", "What is month number {k}?",
               "Month {k} is which month?", "Which month has the number {k}?"],
        "de": ["Was ist der {o} Monat des Jahres?", "Welcher Monat ist der {o} des Jahres?", "Der {o} Monat des Jahres ist welcher?",
               "Sag mir, was der {o} Monat des Jahres ist.", "Wie heißt der {o} Monat des Jahres?", "Was ist der Monat Nummer {k}?",
               "Monat {k} ist welcher Monat?", "Welcher Monat hat die Nummer {k}?"],
    },
}

DATE_A = {
    "weekday_after": {"fr": ["{Nd} après {wd}, ce sera {wd2}.", "Ce sera {wd2}.", "Dans {nd}, nous serons {wd2}."],
                      "en": ["{Nd} after {wd} it will be {wd2}.", "It will be {wd2}.", "In {nd} it will be {wd2}."],
                      "de": ["{Nd} nach {wd} ist {wd2}.", "Dann ist {wd2}.", "In {ndd} ist {wd2}."]},
    "next_month": {"fr": ["Après {m} vient {m2}.", "C'est {m2}.", "Le mois qui suit {m} est {m2}."],
                   "en": ["After {m} comes {m2}.", "It is {m2}.", "The month after {m} is {m2}."],
                   "de": ["Nach {m} kommt {m2}.", "Das ist der {m2}.", "Der Monat nach {m} ist der {m2}."]},
    "to_numeric": {"fr": ["{Style}, le {d} s'écrit {num}.", "Le {d} s'écrit {num} {style}.", "Cela donne {num}."],
                   "en": ["{Style}, {d} is written {num}.", "{d} is written {num} {style}.", "That gives {num}."],
                   "de": ["{Style} schreibt man den {d} als {num}.", "Der {d} wird {style} als {num} geschrieben.", "Das ergibt {num}."]},
    "to_long": {"fr": ["{num} {style} correspond au {d}.", "C'est le {d}.", "La date {num} {style} est le {d}."],
                "en": ["{num} {style} is {d}.", "It is {d}.", "The date {num} {style} is {d}."],
                "de": ["{num} {style} ist der {d}.", "Das ist der {d}.", "Das Datum {num} {style} ist der {d}."]},
    "month_days": {"fr": ["{M} {y} compte {n} jours.", "Il y a {n} jours en {m} {y}.", "Le mois {dem} {y} a {n} jours."],
                   "en": ["{M} {y} has {n} days.", "There are {n} days in {m} {y}.", "The month of {m} {y} has {n} days."],
                   "de": ["Der {m} {y} hat {n} Tage.", "Im {m} {y} gibt es {n} Tage.", "Der Monat {m} {y} hat {n} Tage."]},
    "leap_yes": {"fr": ["Oui, {y} est une année bissextile : elle compte 366 jours et février a 29 jours.", "Oui, {y} est bissextile."],
                 "en": ["Yes, {y} is a leap year: it has 366 days and February has 29 days.", "Yes, {y} is a leap year."],
                 "de": ["Ja, {y} ist ein Schaltjahr: Es hat 366 Tage, und der Februar hat 29 Tage.", "Ja, {y} ist ein Schaltjahr."]},
    "leap_no": {"fr": ["Non, {y} n'est pas une année bissextile : elle compte 365 jours et février a 28 jours.", "Non, {y} n'est pas bissextile."],
                "en": ["No, {y} is not a leap year: it has 365 days and February has 28 days.", "No, {y} is not a leap year."],
                "de": ["Nein, {y} ist kein Schaltjahr: Es hat 365 Tage, und der Februar hat 28 Tage.", "Nein, {y} ist kein Schaltjahr."]},
    "nth_month": {"fr": ["Le {o} mois de l'année est {m}.", "C'est {m}, le mois numéro {k}."],
                  "en": ["The {o} month of the year is {m}.", "It is {m}, month number {k}."],
                  "de": ["Der {o} Monat des Jahres ist der {m}.", "Das ist der {m}, der Monat Nummer {k}."]},
}


# ----------------------------------------------------------------------------- one question, one answer
# Each generator: (rng, qlang, alang, ctx) -> (question, answer, intent, data). The question is
# written in qlang, the answer in alang (they differ only under a language-forcing system prompt).

def gen_smalltalk(rng, ql, al, ctx):
    intent = rng.choice(list(SMALLTALK))
    t = SMALLTALK[intent]
    return qchoice(rng, t["q"][ql], ctx), rng.choice(t["a"][al]), intent, {}


HELP_INTENTS = list(HELP) + list(HELP_FIXED)


def gen_stargate(rng, ql, al, ctx):
    intent = rng.choice(HELP_INTENTS)
    if intent in HELP_FIXED:
        t = HELP_FIXED[intent]
        return qchoice(rng, t["q"][ql], ctx), rng.choice(t["a"][al]), intent, {}
    h = HELP[intent]
    if h["cmd"] and rng.random() < 0.25:
        q = qchoice(rng, CMD_FRAMES[ql], ctx).format(c=h["cmd"])
    else:
        x = rng.choice(h["x"][ql])
        q = qchoice(rng, HELP_FRAMES[ql], ctx).format(x=x, dx=fr_de(x))
    return q, rng.choice(h["a"][al]), intent, {"cmd": h["cmd"]}


COUNTRY_INTENTS = ["capital", "capital", "currency", "language", "continent", "capital_of", "about"]


def country_answer(intent, c, al, rng):
    if intent == "about":
        return country_about(c, al, rng)
    key = intent
    if intent == "language":
        key = "language2" if len(c.langs) > 1 else "language1"
    return rng.choice(COUNTRY_A[key][al]).format(**country_slots(c, al))


def pick_country(rng, intent):
    while True:
        c = rng.choice(COUNTRIES)
        if intent == "continent" and not c.cont:
            continue
        if intent == "capital_of" and any(c.capital[l] == c.bare[l] for l in LANGS):
            continue          # city-states: "Monaco is the capital of Monaco" teaches nothing
        return c


def gen_country(rng, ql, al, ctx):
    prev = ctx.get("country")
    if prev and prev[0] in ("capital", "currency", "language", "continent") and rng.random() < 0.5:
        intent = prev[0]
        c = pick_country(rng, intent)
        while c.code == prev[1]:
            c = pick_country(rng, intent)
        q = qchoice(rng, COUNTRY_FOLLOW[ql], ctx).format(**country_slots(c, ql))
        follow = True
    else:
        intent = rng.choice(COUNTRY_INTENTS)
        c = pick_country(rng, intent)
        q = qchoice(rng, COUNTRY_Q[intent][ql], ctx).format(**country_slots(c, ql))
        follow = False
    ctx["country"] = (intent, c.code)
    return q, country_answer(intent, c, al, rng), intent, {"country": c.code, "follow": follow}


def gen_arith_qa(rng, ql, al, ctx):
    op, a, b, r = gen_arith(rng)
    q = qchoice(rng, ARITH_Q[op][ql], ctx).format(a=fmt_num(a, ql), b=fmt_num(b, ql))
    ans = rng.choice(ARITH_A[al]).format(a=fmt_num(a, al), b=fmt_num(b, al), op=ARITH_SYM[op], r=fmt_num(r, al))
    return q, ans, op, {"a": str(a), "b": str(b)}


def gen_units_qa(rng, ql, al, ctx):
    src, dst, v, exact, r = gen_units(rng)
    qs = {"v": fmt_dec(v, ql), "u1": unit_word(src, v, ql), "u2": UNITS[dst][ql][1],
          "u2d": unit_word(dst, 2, ql, dative=True)}
    while True:
        t = qchoice(rng, UNIT_Q[ql], ctx)
        if not (src in ("C", "F") and "Combien de {u2} pour" in t):   # "combien de degrés pour 20 degrés" reads oddly
            break
    q = t.format(**qs)
    single = (abs(v) < 2) if al == "fr" else (abs(v) == 1)
    pool = UNIT_A1[al] if single else UNIT_A[al]
    ans = rng.choice(pool).format(v=fmt_dec(v, al), u1=unit_word(src, v, al), r=fmt_dec(r, al, 2),
                                  u2=unit_word(dst, r, al), approx=APPROX[al] if r != exact else "")
    return q, ans, src + "_" + dst, {"src": src, "dst": dst, "v": str(v)}


def rand_date(rng, lo=1950, hi=2050):
    start = datetime.date(lo, 1, 1).toordinal()
    end = datetime.date(hi, 12, 31).toordinal()
    return datetime.date.fromordinal(rng.randint(start, end))


def fr_de(word):
    return ("d'" if word[0] in "aeiouéèêh" else "de ") + word


DATE_INTENTS = ["weekday_after", "weekday_after", "next_month", "to_numeric", "to_long", "month_days", "leap", "nth_month"]
# Closed: weekday + 1..6 days (42), the month after each month (12), month lengths and leap years
# of 2000..2040; the date-format conversions (any date 1950..2050) are the one open task (copying).
YEARS = (2000, 2040)


def day_count(n, lang, dative=False):
    if lang == "fr":
        return "{} jour{}".format(n, "s" if n > 1 else "")
    if lang == "en":
        return "{} day{}".format(n, "s" if n > 1 else "")
    return "{} Tag{}".format(n, ("en" if dative else "e") if n > 1 else "")


def gen_dates(rng, ql, al, ctx):
    intent = rng.choice(DATE_INTENTS)
    Q = lambda **kw: qchoice(rng, DATE_Q[intent][ql], ctx).format(**kw)
    if intent == "weekday_after":
        w, n = rng.randrange(7), rng.randint(1, 6)
        w2 = (w + n) % 7
        def slots(l):
            nd = day_count(n, l)
            return {"wd": WEEKDAYS[l][w], "wd2": WEEKDAYS[l][w2], "nd": nd, "Nd": cap1(nd), "ndd": day_count(n, l, True)}
        q = Q(**slots(ql))
        a = rng.choice(DATE_A["weekday_after"][al]).format(**slots(al))
        data = {"weekday": w, "n": n, "result": w2}
    elif intent == "next_month":
        mo = rng.randint(1, 12)
        def slots(l):
            m = MONTHS[l][mo - 1]
            return {"m": m, "m2": MONTHS[l][mo % 12], "dem": fr_de(m) if l == "fr" else m}
        q = Q(**slots(ql))
        a = rng.choice(DATE_A["next_month"][al]).format(**slots(al))
        data = {"month": mo, "result": mo % 12 + 1}
    elif intent == "to_numeric":
        d = rand_date(rng)
        style = LOCAL_STYLE[al] if rng.random() < 0.6 else rng.choice(list(DATE_STYLES))
        q = Q(d=long_date(d, ql), iso=DATE_STYLES["iso"](d), style=STYLE_NAMES[ql][style])
        sn = STYLE_NAMES[al][style]
        a = rng.choice(DATE_A["to_numeric"][al]).format(d=long_date(d, al), num=DATE_STYLES[style](d), style=sn, Style=cap1(sn))
        data = {"date": d.isoformat(), "style": style}
    elif intent == "to_long":
        d = rand_date(rng)
        style = LOCAL_STYLE[ql] if rng.random() < 0.6 else rng.choice(list(DATE_STYLES))
        num = DATE_STYLES[style](d)
        q = Q(num=num, style=STYLE_NAMES[ql][style])
        a = rng.choice(DATE_A["to_long"][al]).format(num=num, style=STYLE_NAMES[al][style], d=long_date(d, al))
        data = {"date": d.isoformat(), "style": style}
    elif intent == "month_days":
        y, mo = rng.randint(*YEARS), rng.choice([2, 2, 2] + list(range(1, 13)))
        n = calendar.monthrange(y, mo)[1]
        def slots(l):
            m = MONTHS[l][mo - 1]
            return {"m": m, "M": cap1(m), "y": y, "dem": fr_de(m) if l == "fr" else m, "n": n}
        q = Q(**slots(ql))
        a = rng.choice(DATE_A["month_days"][al]).format(**slots(al))
        data = {"year": y, "month": mo, "n": n}
    elif intent == "leap":
        y = rng.choice([rng.randint(*YEARS), 4 * rng.randint(YEARS[0] // 4, YEARS[1] // 4)])
        q = Q(y=y)
        a = rng.choice(DATE_A["leap_yes" if calendar.isleap(y) else "leap_no"][al]).format(y=y)
        data = {"year": y, "leap": calendar.isleap(y)}
    else:  # nth_month
        k = rng.randint(1, 12)
        q = Q(o=ORDINAL_MONTH[ql][k - 1], k=k)
        a = rng.choice(DATE_A["nth_month"][al]).format(o=ORDINAL_MONTH[al][k - 1], k=k, m=MONTHS[al][k - 1])
        data = {"month": k}
    return q, a, intent, data


CATEGORIES = {  # name: (generator, weight)
    "smalltalk": (gen_smalltalk, 0.08),
    "stargate": (gen_stargate, 0.15),
    "country": (gen_country, 0.33),
    "arith": (gen_arith_qa, 0.15),
    "units": (gen_units_qa, 0.13),
    "dates": (gen_dates, 0.16),
}


# ----------------------------------------------------------------------------- system prompts

SYSTEM_NEUTRAL = {
    "fr": ["Tu es stargate, un assistant utile.", "Tu es l'assistant par défaut de stargate. Réponds brièvement.",
           "Vous êtes un assistant serviable et concis.", "Tu es un assistant qui répond de façon courte et exacte.",
           "Tu es stargate, un petit modèle d'assistance. Sois bref.", "Réponds dans la langue de l'utilisateur."],
    "en": ["You are stargate, a helpful assistant.", "You are stargate's default assistant. Answer briefly.",
           "You are a helpful and concise assistant.", "You are an assistant that gives short, accurate answers.",
           "You are stargate, a small assistant model. Be brief.", "Answer in the user's language."],
    "de": ["Du bist stargate, ein hilfreicher Assistent.", "Du bist der Standardassistent von stargate. Antworte kurz.",
           "Sie sind ein hilfsbereiter und präziser Assistent.", "Du bist ein Assistent, der kurz und genau antwortet.",
           "Du bist stargate, ein kleines Assistenzmodell. Fasse dich kurz.", "Antworte in der Sprache des Nutzers."],
}
SYSTEM_FORCE = {  # prompt language -> answer language -> prompts
    "fr": {"fr": ["Tu es stargate, un assistant utile. Réponds en français.",
                  "Tu es l'assistant de stargate pour la France. Réponds toujours en français.",
                  "Réponds toujours en français, quelle que soit la langue de la question.",
                  "Tu es l'assistant du déploiement français de stargate. Toutes tes réponses sont en français."],
           "en": ["Réponds toujours en anglais.", "Tu es stargate, un assistant utile. Réponds uniquement en anglais."],
           "de": ["Réponds toujours en allemand.", "Tu es stargate, un assistant utile. Réponds uniquement en allemand."]},
    "en": {"fr": ["Always answer in French.", "You are the assistant of stargate's French deployment. Always reply in French."],
           "en": ["You are stargate, a helpful assistant. Answer in English.",
                  "Always answer in English, whatever the language of the question.",
                  "You are the assistant of stargate's English deployment. Always reply in English."],
           "de": ["Always answer in German.", "You are the assistant of stargate's German deployment. Always reply in German."]},
    "de": {"fr": ["Antworte immer auf Französisch.",
                  "Du bist der Assistent des französischen stargate-Deployments. Antworte immer auf Französisch."],
           "en": ["Antworte immer auf Englisch.", "Du bist stargate, ein hilfreicher Assistent. Antworte nur auf Englisch."],
           "de": ["Du bist stargate, ein hilfreicher Assistent. Antworte auf Deutsch.",
                  "Du bist der Assistent des deutschen stargate-Deployments. Antworte immer auf Deutsch.",
                  "Antworte immer auf Deutsch, egal in welcher Sprache gefragt wird."]},
}


def noisy_user(text, lang, rng):
    """Users type less carefully than the templates: drop the French space before ?/!, the
    final punctuation, or the capital letter, sometimes."""
    if lang == "fr" and rng.random() < 0.3:
        text = text.replace(" ?", "?").replace(" !", "!").replace(" :", ":")
    r = rng.random()
    if r < 0.06 and text[-1:] in ".?!":
        text = text[:-1]
    elif r < 0.12 and not text.startswith("`"):
        text = text[:1].lower() + text[1:]
    return text


# ----------------------------------------------------------------------------- conversations

def weighted(rng, table):
    names = list(table)
    return rng.choices(names, weights=[table[n][1] for n in names])[0]


# Deployment system messages (--system-prompts DIR): [(id, language, message)], sorted by file name.
DEPLOY_SHARE = 0.3


def load_system_prompts(d):
    """The system message the server prepends for each deployment profile in d (*.json): the
    system prompt, then a blank line and the guidance when there is one (sg_deploy_system_message)."""
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(d, name), encoding="utf-8") as f:
            prof = json.load(f)
        sp = prof.get("system_prompt")
        if not isinstance(sp, str) or not sp.strip():
            raise ValueError("{}: no system_prompt".format(name))
        g = prof.get("guidance")
        msg = sp + ("\n\n" + g if isinstance(g, str) and g else "")
        lang = str(prof.get("language", "")).split("-")[0].lower()
        out.append((prof.get("id", name[:-5]), lang, msg))
    if not out:
        raise ValueError("{}: no deployment profile (*.json)".format(d))
    return out


def gen_conversation(rng, user_lang, deployments=None, deploy_rule="user", deploy_share=DEPLOY_SHARE, val=False):
    """One conversation: (messages, meta). With deployments, DEPLOY_SHARE of the conversations
    start with one of their system messages (deploy_share of them). deploy_rule "user": the assistant answers in the
    user's language (what the example deployments' prompts say: "Répondez dans la langue de
    votre interlocuteur"); "deployment": in the deployment's language when that is fr/en/de,
    else (e.g. Arabic, absent from the corpus) in the user's."""
    msgs, meta = [], {"system": None, "turns": []}
    force = None
    if deployments and rng.random() < deploy_share:
        dep_id, dep_lang, text = deployments[rng.randrange(len(deployments))]
        force = dep_lang if dep_lang in LANGS and deploy_rule == "deployment" else None
        msgs.append({"role": "system", "content": text})
        meta["system"] = {"lang": dep_lang, "force": force, "deployment": dep_id}
        r = 1.0
    else:
        r = rng.random()
    if r < 0.15:                                        # a deployment with a fixed answer language
        force = user_lang if rng.random() < 0.5 else rng.choice([l for l in LANGS if l != user_lang])
        plang = force if rng.random() < 0.7 else rng.choice(LANGS)
        msgs.append({"role": "system", "content": rng.choice(SYSTEM_FORCE[plang][force])})
        meta["system"] = {"lang": plang, "force": force}
    elif r < 0.55:
        plang = user_lang if rng.random() < 0.6 else rng.choice(LANGS)
        msgs.append({"role": "system", "content": rng.choice(SYSTEM_NEUTRAL[plang])})
        meta["system"] = {"lang": plang, "force": None}
    n_turns = 1 if rng.random() < 0.78 else rng.choice([2, 2, 3, 4])
    ctx = {"val": val}
    ql = user_lang
    for t in range(n_turns):
        if t > 0 and rng.random() < 0.12:
            ql = rng.choice([l for l in LANGS if l != ql])     # the user switches language
        al = force or ql
        if n_turns > 1 and t == 0 and rng.random() < 0.3:
            cat = "smalltalk"
        elif t > 0 and "country" in ctx and rng.random() < 0.4:
            cat = "country"
        else:
            cat = weighted(rng, CATEGORIES)
        if cat != "country":
            ctx.pop("country", None)
        q, a, intent, data = CATEGORIES[cat][0](rng, ql, al, ctx)
        msgs.append({"role": "user", "content": noisy_user(q, ql, rng)})
        msgs.append({"role": "assistant", "content": a})
        meta["turns"].append({"qlang": ql, "alang": al, "cat": cat, "intent": intent, "data": data})
    return msgs, meta


# ----------------------------------------------------------------------------- pretraining text

QA_LABELS = {"fr": [("Question : ", "Réponse : "), ("Q : ", "R : ")], "en": [("Question: ", "Answer: "), ("Q: ", "A: ")],
             "de": [("Frage: ", "Antwort: "), ("F: ", "A: ")]}
DIALOG_LABELS = {"fr": ("Utilisateur : ", "Assistant : "), "en": ("User: ", "Assistant: "), "de": ("Nutzer: ", "Assistent: ")}
TABLE_TITLE = {"fr": "Table de multiplication de {k} :", "en": "Multiplication table of {k}:", "de": "Einmaleins mit {k}:"}


def pretrain_paragraph(rng, lang):
    """One paragraph (document) of plain text in `lang`: (kind, text)."""
    kind = rng.choices(["facts", "qa", "dialog", "docs", "table", "calendar"], weights=[0.25, 0.3, 0.2, 0.1, 0.05, 0.1])[0]
    if kind == "facts":
        cs = [rng.choice(COUNTRIES) for _ in range(rng.randint(1, 3))]
        text = " ".join(country_about(c, lang, rng) for c in cs)
    elif kind == "qa":
        ql, al = rng.choice(QA_LABELS[lang])
        lines, ctx = [], {}
        for _ in range(rng.randint(2, 5)):
            cat = weighted(rng, CATEGORIES)
            if cat != "country":
                ctx.pop("country", None)
            q, a, _, _ = CATEGORIES[cat][0](rng, lang, lang, ctx)
            lines.append(ql + q + "\n" + al + a)
        text = "\n\n".join(lines) if rng.random() < 0.5 else "\n".join(lines)
    elif kind == "dialog":
        u, s = DIALOG_LABELS[lang]
        while True:   # no system prompt here, so only conversations answered in the user's language
            msgs, meta = gen_conversation(rng, lang)
            if all(t["qlang"] == t["alang"] for t in meta["turns"]):
                break
        text = "\n".join((u if m["role"] == "user" else s) + m["content"] for m in msgs if m["role"] != "system")
    elif kind == "docs":
        picks = rng.sample(HELP_INTENTS, rng.randint(2, 4))
        parts = []
        for i in picks:
            parts.append(rng.choice((HELP_FIXED[i] if i in HELP_FIXED else HELP[i])["a"][lang]))
        text = " ".join(parts)
    elif kind == "table":
        k = rng.randint(2, 10)
        text = TABLE_TITLE[lang].format(k=k) + "\n" + "\n".join(
            "{} × {} = {}".format(k, i, fmt_int(k * i, lang)) for i in range(1, 11))
    else:
        sents = []
        for _ in range(rng.randint(2, 5)):
            while True:
                _, a, intent, _ = gen_dates(rng, lang, lang, {})
                if not a.startswith(("C'est", "Cela", "Ce sera", "Dans", "It is", "It will", "In ", "Dann", "That", "Das ist", "Das sind", "Das ergibt", "La date est",
                                     "The date is", "Das Datum ist", "Oui", "Non", "Yes", "No", "Ja", "Nein")):
                    break
            sents.append(a)
        text = " ".join(sents)
    return kind, text


# ----------------------------------------------------------------------------- main

def in_val(text, frac):
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return h < frac * 2.0 ** 64


def count(d, *keys):
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = d.get(keys[-1], 0) + 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--examples", type=int, default=60000, help="SFT conversations in all (train + val)")
    ap.add_argument("--pretrain-mb", type=float, default=8.0, help="size of pretrain.txt + pretrain.val.txt, MB")
    ap.add_argument("--val-fraction", type=float, default=0.02)
    ap.add_argument("--pretrain-jsonl", action="store_true", help="also write pretrain.jsonl ({\"text\"} per paragraph)")
    ap.add_argument("--meta", action="store_true", help="also write sft.meta.jsonl (for the tests)")
    ap.add_argument("--system-prompts", metavar="DIR",
                    help="deployment profiles (*.json): their system messages start some of the conversations")
    ap.add_argument("--system-prompts-share", type=float, default=DEPLOY_SHARE,
                    help="share of the conversations that start with a deployment's system message")
    ap.add_argument("--deployment-language", choices=("user", "deployment"), default="user",
                    help="under a deployment's system message, answer in the user's language (default, as the "
                         "example prompts ask) or in the deployment's (fr/en/de; others: the user's)")
    args = ap.parse_args(argv)
    if args.examples < 0 or args.pretrain_mb < 0 or not 0 <= args.val_fraction < 1:
        ap.error("--examples and --pretrain-mb must be >= 0, --val-fraction in [0, 1)")
    os.makedirs(args.out, exist_ok=True)
    stats = {"seed": args.seed, "sft": {"train": 0, "val": 0, "val_dropped": 0, "turns": {}, "user_lang": {}, "answer_lang": {},
                                        "category": {}, "intent": {}, "category_lang": {}, "system": {}},
             "pretrain": {"paragraphs": {}, "kind": {}}, "bytes": {}}
    S = stats["sft"]

    def path(name):
        return os.path.join(args.out, name)

    rng = random.Random(args.seed)
    deployments = load_system_prompts(args.system_prompts) if args.system_prompts else None
    convs = []
    for i in range(args.examples):
        val = rng.random() < args.val_fraction
        msgs, meta = gen_conversation(rng, LANGS[i % 3], deployments, args.deployment_language,
                                      args.system_prompts_share, val)
        convs.append(("val" if val else "train", msgs, meta))
    first_q = lambda msgs: next(m["content"] for m in msgs if m["role"] == "user")
    train_q = {first_q(m) for sp, m, _ in convs if sp == "train"}
    files = {"train": open(path("sft.jsonl.tmp"), "w", encoding="utf-8", newline="\n"),
             "val": open(path("sft.val.jsonl.tmp"), "w", encoding="utf-8", newline="\n")}
    metaf = open(path("sft.meta.jsonl.tmp"), "w", encoding="utf-8", newline="\n") if args.meta else None
    for split, msgs, meta in convs:
        if split == "val" and first_q(msgs) in train_q:
            S["val_dropped"] += 1     # e.g. "Bonjour !": a short list of phrasings, none held out
            continue
        files[split].write(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")
        if metaf:
            meta["split"] = split
            metaf.write(json.dumps(meta, ensure_ascii=False) + "\n")
        S[split] += 1
        count(S, "turns", str(len(meta["turns"])))
        sysk = "none" if not meta["system"] else ("force_" + meta["system"]["force"] if meta["system"]["force"] else "neutral")
        if meta["system"] and meta["system"].get("deployment"):
            sysk = "deployment_" + meta["system"]["deployment"]
        count(S, "system", sysk)
        for t in meta["turns"]:
            count(S, "user_lang", t["qlang"])
            count(S, "answer_lang", t["alang"])
            count(S, "category", t["cat"])
            count(S, "intent", t["cat"] + "." + t["intent"])
            count(S, "category_lang", t["cat"], t["alang"])
    for f in files.values():
        f.close()
    if metaf:
        metaf.close()

    # pretraining text: its own generator stream, so --examples does not change it
    prng = random.Random(args.seed * 1000003 + 7)
    target = int(args.pretrain_mb * 1e6)
    total = 0
    pt = {"train": open(path("pretrain.txt.tmp"), "w", encoding="utf-8", newline="\n"),
          "val": open(path("pretrain.val.txt.tmp"), "w", encoding="utf-8", newline="\n")}
    pj = open(path("pretrain.jsonl.tmp"), "w", encoding="utf-8", newline="\n") if args.pretrain_jsonl else None
    first = {"train": True, "val": True}
    i = 0
    while total < target:
        lang = LANGS[i % 3]
        i += 1
        kind, text = pretrain_paragraph(prng, lang)
        split = "val" if in_val(text, args.val_fraction) else "train"
        chunk = ("" if first[split] else "\n\n") + text
        first[split] = False
        pt[split].write(chunk)
        total += len(chunk.encode("utf-8"))
        if pj and split == "train":
            pj.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        count(stats["pretrain"], "paragraphs", lang)
        count(stats["pretrain"], "kind", kind)
    for split, f in pt.items():
        if not first[split]:
            f.write("\n")
        f.close()
    if pj:
        pj.close()

    names = ["sft.jsonl", "sft.val.jsonl", "pretrain.txt", "pretrain.val.txt"] + \
        (["pretrain.jsonl"] if args.pretrain_jsonl else []) + (["sft.meta.jsonl"] if args.meta else [])
    for n in names:
        os.replace(path(n + ".tmp"), path(n))
        stats["bytes"][n] = os.path.getsize(path(n))
    with open(path("stats.json.tmp"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path("stats.json.tmp"), path("stats.json"))
    print("wrote {}: {} + {} conversations, {} bytes of pretraining text".format(
        args.out, S["train"], S["val"], stats["bytes"]["pretrain.txt"] + stats["bytes"]["pretrain.val.txt"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
