from rest_framework import authentication, exceptions

from accounts.models import UserAPIKey
from accounts.services import api_key_touch

INVALID_KEY = "Invalid or revoked API key."


class BearerAPIKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` with a hashed, revocable key (djangorestframework-api-key)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <key>'.")
        try:
            key = header[1].decode("ascii")
            api_key = UserAPIKey.objects.get_from_key(key)
        except (UnicodeError, UserAPIKey.DoesNotExist):
            raise exceptions.AuthenticationFailed(INVALID_KEY) from None
        if api_key.has_expired or not api_key.user.is_active:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        api_key_touch(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
