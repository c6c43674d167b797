"""Fill msgstr for known msgids in locale/<lang>/LC_MESSAGES/django.po (single-line entries only).

Usage: python locale/fill.py  (then: python manage.py compilemessages)
Translations of the core screens; the rest stays in English until translated.
"""

import re
from pathlib import Path

T = {
    "Register family": ("ثبت خانواده", "کورنۍ ثبتول"),
    "Register a family": ("ثبت یک خانواده", "یوه کورنۍ ثبت کړئ"),
    "Search": ("جستجو", "لټون"),
    "Search families": ("جستجوی خانواده‌ها", "د کورنیو لټون"),
    "Duplicates": ("تکراری‌ها", "تکراري"),
    "Possible duplicates": ("تکراری‌های احتمالی", "احتمالي تکراري"),
    "Payments": ("پرداخت‌ها", "تادیات"),
    "Batches": ("بسته‌ها", "بستې"),
    "Admin": ("مدیریت", "اداره"),
    "Language": ("زبان", "ژبه"),
    "Go": ("برو", "ورشه"),
    "Log in": ("ورود", "ننوتل"),
    "Username": ("نام کاربری", "کارن نوم"),
    "Password": ("رمز عبور", "پټنوم"),
    "Today": ("امروز", "نن"),
    "Skip to content": ("رفتن به محتوا", "منځپانګې ته ورشئ"),
    "Main": ("اصلی", "اصلي"),
    "Crossing point": ("گذرگاه مرزی", "د پولې تېرځای"),
    "Arrival date": ("تاریخ رسیدن", "د رارسېدو نېټه"),
    "Destination province": ("ولایت مقصد", "د منزل ولایت"),
    "Destination district": ("ولسوالی مقصد", "د منزل ولسوالۍ"),
    "Phone": ("شماره تلفن", "د تلیفون شمېره"),
    "Given name": ("نام", "نوم"),
    "Father's name": ("نام پدر", "د پلار نوم"),
    "Family name": ("تخلص", "تخلص"),
    "Sex": ("جنسیت", "جنسیت"),
    "Female": ("زن", "ښځه"),
    "Male": ("مرد", "نارینه"),
    "Date of birth": ("تاریخ تولد", "د زېږون نېټه"),
    "or age (years)": ("یا سن (سال)", "یا عمر (کلونه)"),
    "Relationship to head": ("نسبت با سرپرست", "له سرپرست سره اړیکه"),
    "Tazkira number": ("شماره تذکره", "د تذکرې شمېره"),
    "Tazkira": ("تذکره", "تذکره"),
    "Vulnerabilities": ("آسیب‌پذیری‌ها", "زیانمنونکي حالتونه"),
    "Household vulnerabilities": ("آسیب‌پذیری‌های خانوار", "د کورنۍ زیانمنونکي حالتونه"),
    "Head of household": ("سرپرست خانوار", "د کورنۍ سرپرست"),
    "Add a member": ("افزودن عضو", "غړی زیات کړئ"),
    "Check and register": ("بررسی و ثبت", "کتل او ثبتول"),
    "Register": ("ثبت", "ثبتول"),
    "Arrival and destination": ("رسیدن و مقصد", "رارسېدل او منزل"),
    "Save": ("ذخیره", "ساتل"),
    "Cancel": ("لغو", "لغوه کول"),
    "Note": ("یادداشت", "یادښت"),
    "History": ("تاریخچه", "تاریخچه"),
    "Name": ("نام", "نوم"),
    "Relationship": ("نسبت", "اړیکه"),
    "Case": ("پرونده", "دوسیه"),
    "Size": ("تعداد", "شمېر"),
    "Arrived": ("رسیده", "رارسېدلي"),
    "Nothing to review.": ("چیزی برای بررسی نیست.", "د کتلو لپاره څه نشته."),
    "No families.": ("خانواده‌ای نیست.", "کومه کورنۍ نشته."),
    "Recently registered": ("تازه ثبت شده", "وروستي ثبت شوي"),
    "families arrived today": ("خانواده امروز رسیدند", "کورنۍ نن راورسېدې"),
    "families registered today": ("خانواده امروز ثبت شدند", "کورنۍ نن ثبت شوې"),
    "possible duplicates to review": ("تکراری احتمالی برای بررسی", "د کتلو لپاره احتمالي تکراري"),
    "Not allowed": ("اجازه نیست", "اجازه نشته"),
    "Not found": ("پیدا نشد", "ونه موندل شو"),
    "Support payment": ("کمک نقدی", "نغدي مرسته"),
    "Support payments": ("کمک‌های نقدی", "نغدي مرستې"),
    "Request the support payment": ("درخواست کمک نقدی", "د نغدي مرستې غوښتنه"),
    "Status": ("وضعیت", "حالت"),
    "Amount": ("مبلغ", "اندازه"),
    "Reference": ("مرجع", "مرجع"),
    "Family": ("خانواده", "کورنۍ"),
    "Approve selected": ("تأیید انتخاب‌شده‌ها", "ټاکل شوي تایید کړئ"),
    "Reject selected": ("رد انتخاب‌شده‌ها", "ټاکل شوي رد کړئ"),
    "Filter": ("فلتر", "فلټر"),
    "Previous": ("قبلی", "مخکینی"),
    "Next": ("بعدی", "بل"),
    "Decision": ("تصمیم", "پرېکړه"),
    "Save decision": ("ذخیره تصمیم", "پرېکړه وساتئ"),
    "English": ("انگلیسی", "انګلیسي"),
    "Dari": ("دری", "دري"),
    "Pashto": ("پشتو", "پښتو"),
    "Consent to share": ("رضایت برای اشتراک", "د شریکولو رضایت"),
    "Going to": ("مقصد", "منزل"),
    "From": ("از", "له"),
    "Registered": ("ثبت شده", "ثبت شوی"),
}

ROOT = Path(__file__).resolve().parent
for index, lang in enumerate(["fa", "ps"]):
    path = ROOT / lang / "LC_MESSAGES" / "django.po"
    text = path.read_text(encoding="utf-8")
    text = text.replace('"Language: \\n"', f'"Language: {lang}\\n"')
    text = re.sub(
        r'"Plural-Forms: [^"]*"\n(?:"\n)?',
        lambda m: '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n',
        text,
    )
    text = text.replace("#, fuzzy\n", "", 1)

    def fill(match: re.Match, index: int = index) -> str:
        msgid = match.group(1)
        if msgid in T:
            return f'msgid "{msgid}"\nmsgstr "{T[msgid][index]}"'
        return match.group(0)

    text = re.sub(r'msgid "((?:[^"\\]|\\.)+)"\nmsgstr ""(?!\n")', fill, text)
    path.write_text(text, encoding="utf-8")
    print(lang, sum(1 for k in T if f'msgid "{k}"' in text))
