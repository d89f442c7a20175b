"""Flask-WTF forms: they carry the CSRF token and the per-field error messages the pages show.

Validation rules live in the action layer; an ``ActionError`` naming a field is attached to that field.
"""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    username = StringField("Username", validators=[DataRequired("Choose a username.")],
                           description="3–32 characters: lowercase letters, digits and _.")
    display_name = StringField("Display name (optional)", validators=[Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired("Choose a password.")],
                             description="At least 8 characters.")


class LoginForm(FlaskForm):
    login = StringField("Email or username", validators=[DataRequired("Enter your email or username.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in", description="Only on a computer that is yours.")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired("Enter your current password.")])
    new_password = PasswordField("New password", validators=[DataRequired("Choose a new password.")],
                                 description="At least 8 characters. Every other device is signed out.")


class ProfileForm(FlaskForm):
    """Display name, bio and a new picture; the action checks them (``profiles.save_profile``)."""
    display_name = StringField("Display name")
    bio = TextAreaField("Bio", description="At most 500 characters. Everyone signed in can see it.")
    file = FileField("New picture", description="PNG, JPEG, GIF or WebP. We keep the centre square.")


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired("Give the group a name."), Length(max=100)])
    members = StringField("Add people (usernames, separated by commas or spaces)")


class RenameForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired("Give the group a name."), Length(max=100)])


class AddMemberForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired("Enter a username.")])


class WebhookForm(FlaskForm):
    url = StringField("Address (URL)", validators=[DataRequired("Enter the address to send events to.")],
                      description="Every event of this conversation is POSTed there as signed JSON.")


def attach_error(form, error, default_field):
    """Show an ``ActionError`` next to the field it names (or ``default_field``)."""
    field = getattr(form, error.field or "", None) or getattr(form, default_field)
    field.errors = [*list(field.errors or []), error.message]
