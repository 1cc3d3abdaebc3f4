"""Forms of the login, password reset and account pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from proxiservices.forms import EmailAddress, PasswordLength

EMAIL_REQUIRED = "Indiquez votre adresse e-mail."
TOO_LONG = "Ce champ est trop long."


class LoginForm(FlaskForm):
    email = StringField(
        "Adresse e-mail",
        validators=[
            DataRequired(EMAIL_REQUIRED),
            Length(max=254, message=TOO_LONG),
            EmailAddress(),
        ],
    )
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired("Indiquez votre mot de passe."),
            Length(max=256, message=TOO_LONG),
        ],
    )


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        "Adresse e-mail du compte",
        validators=[
            DataRequired(EMAIL_REQUIRED),
            Length(max=254, message=TOO_LONG),
            EmailAddress(),
        ],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "Nouveau mot de passe",
        validators=[DataRequired("Choisissez un nouveau mot de passe."), PasswordLength()],
    )
    confirm = PasswordField(
        "Confirmez le nouveau mot de passe",
        validators=[
            DataRequired("Saisissez une seconde fois le nouveau mot de passe."),
            EqualTo("password", "Les deux mots de passe ne sont pas identiques."),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "Mot de passe actuel",
        validators=[
            DataRequired("Indiquez votre mot de passe actuel."),
            Length(max=256, message=TOO_LONG),
        ],
    )
