'use strict';

(function () {
  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var ORDER = ['name', 'email', 'password', 'confirm'];

  var REQUIRED = {
    name: 'Please enter your name.',
    email: 'Please enter your email address.',
    password: 'Please enter a password.',
    confirm: 'Please confirm your password.'
  };

  function init() {
    var form = document.getElementById('signup-form');
    if (!form) {
      return;
    }

    var fields = {};
    ORDER.forEach(function (id) {
      fields[id] = document.getElementById(id);
    });

    var submitted = false;

    function check(id) {
      var input = fields[id];
      if (!input) {
        return '';
      }
      var value = id === 'name' || id === 'email' ? input.value.trim() : input.value;
      if (value === '') {
        return REQUIRED[id];
      }
      if (id === 'email' && !EMAIL_RE.test(value)) {
        return 'Please enter a valid email address.';
      }
      if (id === 'password' && value.length < 8) {
        return 'Password must be at least 8 characters.';
      }
      if (id === 'confirm' && fields.password && value !== fields.password.value) {
        return 'Passwords do not match.';
      }
      return '';
    }

    function show(id, message) {
      var input = fields[id];
      var error = document.getElementById(id + '-error');
      if (!input) {
        return;
      }
      if (error) {
        error.textContent = message;
      }
      if (message) {
        input.classList.add('invalid');
        input.setAttribute('aria-invalid', 'true');
      } else {
        input.classList.remove('invalid');
        input.removeAttribute('aria-invalid');
      }
    }

    function validate(id) {
      var message = check(id);
      show(id, message);
      return message === '';
    }

    form.addEventListener('submit', function (event) {
      submitted = true;
      var firstInvalid = null;
      ORDER.forEach(function (id) {
        if (!validate(id) && !firstInvalid) {
          firstInvalid = fields[id];
        }
      });
      if (firstInvalid) {
        event.preventDefault();
        firstInvalid.focus();
      }
    });

    ORDER.forEach(function (id) {
      var input = fields[id];
      if (!input) {
        return;
      }
      function revalidate() {
        if (!submitted) {
          return;
        }
        validate(id);
        // Keep the confirmation in sync when the password changes.
        if (id === 'password' && fields.confirm && fields.confirm.value !== '') {
          validate('confirm');
        }
      }
      input.addEventListener('input', revalidate);
      input.addEventListener('blur', revalidate);
    });
  }

  function start() {
    init();
    document.documentElement.dataset.js = 'ready';
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
