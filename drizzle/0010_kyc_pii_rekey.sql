-- Re-encrypting personal data under the current KYC key (the kyc.reencrypt-pii job) changes no
-- content: inside a transaction that set kit.pii_rekey, an update that changes only the encrypted
-- columns and their key id keeps version and updated_at, so a form or review open meanwhile does
-- not turn stale. Everything else is as in 0004.
CREATE OR REPLACE FUNCTION kyc_applications_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' THEN
      RAISE EXCEPTION 'a KYC application starts as a draft, not %', NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
    RAISE EXCEPTION 'a KYC application cannot change owner' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
    ('draft', 'submitted'),
    ('submitted', 'in_review'),
    ('in_review', 'approved'),
    ('in_review', 'rejected'),
    ('in_review', 'changes_requested'),
    ('changes_requested', 'submitted'),
    ('approved', 'expired'),
    ('approved', 'revoked')
  ) THEN
    RAISE EXCEPTION 'illegal KYC status transition: % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  IF current_setting('kit.pii_rekey', true) = 'on'
     AND to_jsonb(NEW) - ARRAY['date_of_birth_encrypted', 'national_id_encrypted', 'pii_key_id']
       = to_jsonb(OLD) - ARRAY['date_of_birth_encrypted', 'national_id_encrypted', 'pii_key_id'] THEN
    RETURN NEW;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
